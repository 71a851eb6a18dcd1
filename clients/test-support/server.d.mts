export interface TodoqlServer {
  baseUrl: string;
  graphqlUrl: string;
  log(): string;
  stop(): Promise<void>;
}
export function todoqlBin(): string;
export function encryptionKeyArgs(): string[];
export function startTodoql(options?: { args?: string[]; env?: Record<string, string>; timeoutMs?: number }): Promise<TodoqlServer>;
