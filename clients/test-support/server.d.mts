export interface TodoqlServer {
  baseUrl: string;
  graphqlUrl: string;
  /** sqlite://… of the server's database. */
  databaseUrl: string;
  log(): string;
  /** Stops the server (SIGTERM) and starts it again on the same port and database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}
export function todoqlBin(): string;
export function encryptionKeyArgs(): string[];
export function startTodoql(options?: { args?: string[]; env?: Record<string, string>; timeoutMs?: number }): Promise<TodoqlServer>;
