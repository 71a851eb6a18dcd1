import assert from "node:assert/strict";
import WebSocket from "ws";
import { TodoqlClient, type SignedIn, type SignInResult, type TodoqlClientOptions } from "../dist/index.js";

export { encryptionKeyArgs, startTodoql, type TodoqlServer } from "../../test-support/server.mjs";
export { totpCode, totpStep } from "../../test-support/totp.mjs";
export { startSmtpSink, codeAndLink, type SmtpSink, type Mail } from "../../test-support/smtp-sink.mjs";

/** A password the server's strength check accepts. */
export const PASSWORD = "correct horse battery staple";

let counter = 0;
/** A fresh address for each call. */
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/** fetch that records the operationName of every request it sends. */
export function recordingFetch(): { fetch: typeof fetch; operations: string[]; count(name: string): number } {
  const operations: string[] = [];
  const recording: typeof fetch = async (input, init) => {
    if (typeof init?.body === "string") {
      const body = JSON.parse(init.body) as { operationName?: string };
      operations.push(body.operationName ?? "(anonymous)");
    }
    return fetch(input, init);
  };
  return { fetch: recording, operations, count: (name) => operations.filter((o) => o === name).length };
}

/**
 * The `ws` package's WebSocket (Node 20 has no global one), recording the operationName of every
 * graphql-transport-ws `subscribe` message it sends into `operations`.
 */
export function recordingWebSocket(operations: string[]): typeof WebSocket {
  return class RecordingWebSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      if (typeof data === "string") {
        const message = JSON.parse(data) as { type?: string; payload?: { operationName?: string } };
        if (message.type === "subscribe") operations.push(message.payload?.operationName ?? "(anonymous)");
      }
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  };
}

/** A client for `url` that records its requests. */
export function recordingClient(url: string, options: Partial<TodoqlClientOptions> = {}) {
  const recorder = recordingFetch();
  const client = new TodoqlClient({ url, fetch: recorder.fetch, ...options });
  return { client, ...recorder };
}

/** The payload of a sign-in that needed no second factor (fails the test on MFA_REQUIRED). */
export function signedIn(result: SignInResult): SignedIn {
  if (result.kind !== "SIGNED_IN") assert.fail(`expected SIGNED_IN, got ${result.kind}`);
  return result;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
