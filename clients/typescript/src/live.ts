// Live todo changes over graphql-ws (the graphql-transport-ws protocol, on the same /graphql
// URL): one subscription that survives expired tokens, server restarts and network drops
// without a gap or a duplicate. Each (re)connection subscribes with `since` = the last revision
// delivered, so the server replays what was missed before it goes live again.
import { createClient, type Client } from "graphql-ws";
import { documentText } from "./documents.js";
import { TodoqlError, TodoqlNetworkError, type GraphQLErrorItem } from "./errors.js";
import {
  LiveTodoChangesDocument,
  type LiveTodoChangesSubscription,
  type TodoChangeFieldsFragment,
} from "./generated/graphql.js";

/** One change of the caller's todos or trash, as the subscription delivers it. */
export type TodoChange = TodoChangeFieldsFragment;

/**
 * What a live subscription tells the app, one `type` to branch on:
 * - `CHANGE`: the next change, in revision order, each revision once.
 * - `CONNECTED`: the server accepted the socket; changes after `since` follow (replayed first).
 * - `DISCONNECTED`: the socket closed (`closeCode`: 1012 restart, 4403 token expired, 1006 network,
 *   null when none was received); the subscription reconnects in `retryInMs` with `since`.
 * - `RESYNC_REQUIRED` (final): `since` is older than the history the server keeps. Reload the
 *   list (`todos()`), then subscribe again with its `revision`.
 * - `ERROR` (final): the subscription cannot go on: the session ended or the client is signed out
 *   (`TodoqlError` UNAUTHENTICATED), too many sockets for this user (close 4429), or the server
 *   refused the subscription (its GraphQL error).
 */
export type TodoChangeEvent =
  | { type: "CHANGE"; change: TodoChange }
  | { type: "CONNECTED"; since: number }
  | { type: "DISCONNECTED"; closeCode: number | null; reason: string; retryInMs: number }
  | { type: "RESYNC_REQUIRED"; error: TodoqlError }
  | { type: "ERROR"; error: TodoqlError | TodoqlNetworkError; closeCode: number | null };

export type TodoChangeListener = (event: TodoChangeEvent) => void;

export interface SubscribeToTodoChangesOptions {
  /**
   * The revision the app's state is at: `todos().revision` of the list it shows, or the last
   * change it applied. Changes after it are replayed first, then live ones follow.
   */
  since: number;
}

/** A running live subscription. */
export interface TodoChangesSubscription {
  /** The revision of the last change delivered (`since` until the first one). */
  readonly revision: number;
  /** True after `unsubscribe()`, RESYNC_REQUIRED or ERROR: no event comes any more. */
  readonly closed: boolean;
  /** Stops: closes the socket, cancels a pending reconnection. No event follows. */
  unsubscribe(): void;
}

/** What the live subscription needs from TodoqlClient. */
export interface LiveConnection {
  /** ws:// or wss:// URL of the GraphQL endpoint. */
  url: string;
  /** A WebSocket class (the `ws` package on Node < 22); default: the global WebSocket. */
  webSocketImpl: unknown;
  /** An access token good for a while (refreshed first when about to expire); null when signed out. */
  accessToken(): Promise<string | null>;
  /**
   * A token other than `refused`: the stored one when it changed meanwhile, else a refresh.
   * Null when the server ended the session (the client has signed out then).
   */
  replaceAccessToken(refused: string): Promise<string | null>;
}

// Close codes of the todoql server (README "Live changes").
const TOKEN_REFUSED = 4403;
const TOO_MANY_SOCKETS = 4429;
/** Close codes after which reconnecting cannot help (protocol errors, too many sockets). */
const FATAL_CLOSE_CODES = new Set([4400, 4004, 4005, 4401, 4406, 4409, TOO_MANY_SOCKETS, 4500]);

/** A ping every 15 s; a socket whose pong takes longer than 10 s is dead (sleep, lost network). */
const KEEP_ALIVE_MS = 15_000;
const PONG_TIMEOUT_MS = 10_000;

/** Reconnection delay: 0.5 s doubling to 30 s, each with jitter (half to full), reset on connect. */
function retryDelay(attempt: number): number {
  const ceiling = Math.min(30_000, 500 * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** How one connection ended. */
type Outcome =
  | { kind: "stopped" }
  | { kind: "closed"; code: number | null; reason: string; acknowledged: boolean }
  | { kind: "errors"; errors: GraphQLErrorItem[]; acknowledged: boolean };

function closeCodeOf(error: unknown): { code: number | null; reason: string } {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "number") {
    const reason = "reason" in error && typeof error.reason === "string" ? error.reason : "";
    return { code: error.code, reason };
  }
  // A socket error without a close frame (refused connection, DNS): no code.
  return { code: null, reason: error instanceof Error ? error.message : "connection failed" };
}

function isGraphQLErrors(error: unknown): error is GraphQLErrorItem[] {
  return Array.isArray(error) && error.every((e) => typeof e === "object" && e !== null && "message" in e);
}

const unauthenticated = (message: string) =>
  new TodoqlError([{ message, extensions: { code: "UNAUTHENTICATED" } }], { operationName: "LiveTodoChanges" });

/** Starts a live subscription (TodoqlClient.subscribeToTodoChanges). */
export function subscribeToTodoChanges(
  connection: LiveConnection,
  options: SubscribeToTodoChangesOptions,
  listener: TodoChangeListener,
): TodoChangesSubscription {
  if (!Number.isInteger(options.since) || options.since < 0) {
    throw new RangeError(`since must be a revision (an integer >= 0), not ${String(options.since)}`);
  }
  const live = new LiveSubscription(connection, options.since, listener);
  void live.run();
  return live;
}

class LiveSubscription implements TodoChangesSubscription {
  revision: number;
  closed = false;
  /** Ends the current connection or the wait before the next one. */
  private interrupt: (() => void) | null = null;

  constructor(
    private readonly connection: LiveConnection,
    since: number,
    private readonly listener: TodoChangeListener,
  ) {
    this.revision = since;
  }

  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.interrupt?.();
  }

  private emit(event: TodoChangeEvent): void {
    if (this.closed && event.type !== "RESYNC_REQUIRED" && event.type !== "ERROR") return;
    try {
      this.listener(event);
    } catch (error) {
      // A failing listener must not stop the subscription.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Ends the subscription with a final event. */
  private finish(event: Extract<TodoChangeEvent, { type: "RESYNC_REQUIRED" | "ERROR" }>): void {
    if (this.closed) return;
    this.closed = true;
    this.emit(event);
  }

  async run(): Promise<void> {
    let attempt = 0;
    // Set after a refresh that a 4403 asked for, until the next acknowledged connection: a
    // second refusal then means the new token is refused too, and looping would not help.
    let refreshedForRefusal = false;
    let token: string | null = null;
    while (!this.closed) {
      try {
        token ??= await this.connection.accessToken();
      } catch (error) {
        // The refresh could not reach the server: wait, as for a dropped socket.
        await this.pause({ code: null, reason: describe(error) }, attempt++);
        continue;
      }
      if (this.closed) return;
      if (!token) return this.finish({ type: "ERROR", error: unauthenticated("Sign in to receive live changes."), closeCode: null });

      const outcome = await this.connect(token);
      if (outcome.kind === "stopped") return;
      if (outcome.acknowledged) {
        attempt = 0;
        refreshedForRefusal = false;
      }

      const refused =
        (outcome.kind === "closed" && outcome.code === TOKEN_REFUSED) ||
        (outcome.kind === "errors" && outcome.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED"));
      if (refused) {
        const closeCode = outcome.kind === "closed" ? outcome.code : null;
        if (refreshedForRefusal) {
          return this.finish({ type: "ERROR", error: unauthenticated("The server refuses this session's tokens."), closeCode });
        }
        try {
          token = await this.connection.replaceAccessToken(token);
        } catch (error) {
          token = null;
          await this.pause({ code: closeCode, reason: describe(error) }, attempt++);
          continue;
        }
        if (!token) {
          return this.finish({ type: "ERROR", error: unauthenticated("The session has ended; sign in again."), closeCode });
        }
        refreshedForRefusal = true;
        // Reconnect at once: the pause is for servers that are away, this one answered.
        this.emit({ type: "DISCONNECTED", closeCode, reason: "token refused; refreshed", retryInMs: 0 });
        continue;
      }

      if (outcome.kind === "errors") {
        const error = new TodoqlError(outcome.errors, { operationName: "LiveTodoChanges" });
        if (error.has("RESYNC_REQUIRED")) return this.finish({ type: "RESYNC_REQUIRED", error });
        return this.finish({ type: "ERROR", error, closeCode: null });
      }

      if (outcome.code !== null && FATAL_CLOSE_CODES.has(outcome.code)) {
        const error = new TodoqlNetworkError(
          `The server closed the live connection: ${outcome.code} ${outcome.reason}`.trim(),
        );
        return this.finish({ type: "ERROR", error, closeCode: outcome.code });
      }
      // Restart (1012), network drop (1006, no code), keep-alive timeout, anything else: again,
      // with the token that may still be good (accessToken() refreshes it when it is not).
      token = null;
      await this.pause(outcome, attempt++);
    }
  }

  /** Tells the app and waits before the next connection (or until unsubscribe). */
  private async pause(why: { code: number | null; reason: string }, attempt: number): Promise<void> {
    if (this.closed) return;
    const retryInMs = retryDelay(attempt);
    this.emit({ type: "DISCONNECTED", closeCode: why.code, reason: why.reason, retryInMs });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, retryInMs);
      this.interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.interrupt = null;
  }

  /** One socket, one subscription from `this.revision` on, until it ends. */
  private connect(token: string): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let acknowledged = false;
      let pongDeadline: ReturnType<typeof setTimeout> | undefined;
      let client: Client;
      let ended = false;
      let unsubscribe = () => {};
      const end = (outcome: Outcome) => {
        if (ended) return;
        ended = true;
        clearTimeout(pongDeadline);
        this.interrupt = null;
        unsubscribe();
        void client?.dispose();
        resolve(outcome);
      };
      const since = this.revision;
      try {
        client = createClient({
          url: this.connection.url,
          webSocketImpl: this.connection.webSocketImpl,
          // The token goes in connection_init: a browser's WebSocket sends no Authorization header.
          connectionParams: { Authorization: `Bearer ${token}` },
          // This class reconnects itself, with a new `since` and perhaps a new token.
          retryAttempts: 0,
          lazy: true,
          keepAlive: KEEP_ALIVE_MS,
          on: {
            connected: () => {
              acknowledged = true;
              this.emit({ type: "CONNECTED", since });
            },
            ping: (received) => {
              if (!received) pongDeadline = setTimeout(() => client.terminate(), PONG_TIMEOUT_MS);
            },
            pong: (received) => {
              if (received) clearTimeout(pongDeadline);
            },
          },
        });
      } catch (error) {
        // No WebSocket implementation: not something a retry fixes.
        const failure = new TodoqlNetworkError(
          "No WebSocket: pass TodoqlClient's webSocketImpl (e.g. the ws package) where there is no global WebSocket",
          { cause: error },
        );
        this.finish({ type: "ERROR", error: failure, closeCode: null });
        resolve({ kind: "stopped" });
        return;
      }
      this.interrupt = () => end({ kind: "stopped" });
      unsubscribe = client.subscribe<LiveTodoChangesSubscription>(
        { query: documentText(LiveTodoChangesDocument), variables: { since }, operationName: "LiveTodoChanges" },
        {
          next: (result) => {
            if (result.errors?.length) {
              end({ kind: "errors", errors: [...result.errors] as GraphQLErrorItem[], acknowledged });
              return;
            }
            const change = result.data?.todoChanges;
            // Each revision once: a replay after a reconnect may start at what was already seen.
            if (!change || change.revision <= this.revision) return;
            this.revision = change.revision;
            this.emit({ type: "CHANGE", change });
          },
          error: (error: unknown) => {
            if (isGraphQLErrors(error)) end({ kind: "errors", errors: error, acknowledged });
            else end({ kind: "closed", ...closeCodeOf(error), acknowledged });
          },
          // The server ended the stream without an error (it should not): resume like after a drop.
          complete: () => end({ kind: "closed", code: null, reason: "the server completed the subscription", acknowledged }),
        },
      );
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
