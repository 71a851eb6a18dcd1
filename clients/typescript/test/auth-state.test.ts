// Auth-state events against a real server: this client's own (signed in, refreshed, signed out,
// session ended) and those of other tabs. Two "tabs" are two clients in this process: Node's
// BroadcastChannel connects them as a browser connects the tabs of an origin, and a shared
// storage object stands for localStorage.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  TodoqlClient,
  localStorageTokenStore,
  memoryTokenStore,
  realmLock,
  type AuthEvent,
  type StorageLike,
  type TodoqlClientOptions,
  type Tokens,
} from "../dist/index.js";
import { PASSWORD, recordingFetch, sleep, startTodoql, uniqueEmail, type TodoqlServer } from "./helpers.js";

interface Seen {
  event: AuthEvent;
  tokens: Tokens | null;
  fromOtherTab: boolean;
}

/** Records a client's auth changes and waits for the next ones. */
function watch(client: TodoqlClient) {
  const seen: Seen[] = [];
  const waiters: Array<() => void> = [];
  client.onAuthStateChange((event, tokens, { fromOtherTab }) => {
    seen.push({ event, tokens, fromOtherTab });
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    seen,
    events: () => seen.map((s) => (s.fromOtherTab ? `other:${s.event}` : s.event)),
    /** Resolves once `count` changes in all were seen (fails after 5 s). */
    async until(count: number): Promise<Seen> {
      const deadline = Date.now() + 5000;
      while (seen.length < count) {
        if (Date.now() > deadline) assert.fail(`waited for ${count} auth changes, saw ${JSON.stringify(seen.map((s) => s.event))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return seen[count - 1]!;
    },
  };
}

/** One object behind both tabs' stores, as localStorage is behind the tabs of an origin. */
function sharedStorage(): StorageLike {
  const items = new Map<string, string>();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

let channels = 0;
/** A channel name of its own for each test: all tests share this process. */
const freshName = () => `auth-test-${process.pid}-${++channels}`;

describe("auth-state events", () => {
  let server: TodoqlServer;
  const clients: TodoqlClient[] = [];
  /** A client that is closed after the tests. */
  const tab = (options: Omit<TodoqlClientOptions, "url">) => {
    const client = new TodoqlClient({ url: server.graphqlUrl, ...options });
    clients.push(client);
    return client;
  };
  before(async () => {
    server = await startTodoql();
  });
  after(async () => {
    for (const client of clients) client.close();
    await server?.stop();
  });

  it("this client: SIGNED_IN, TOKEN_REFRESHED, SIGNED_OUT, SESSION_ENDED, once each", async () => {
    const ended: string[] = [];
    const client = tab({ onSessionEnded: (error) => ended.push(error.code) });
    const events = watch(client);
    const email = uniqueEmail("events");

    const signedUp = await client.signUp({ email, password: PASSWORD });
    await client.refresh();
    const refreshed = client.tokens!;
    await client.signOut();
    await client.signOut(); // already signed out: no second event
    await client.signIn({ email, password: PASSWORD });
    // Another device ends this session; the client finds out at its next call.
    const other = tab({});
    await other.signIn({ email, password: PASSWORD });
    assert.equal(await other.revokeOtherSessions(), 1);
    await assert.rejects(client.sessions());

    assert.deepEqual(events.events(), ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT", "SIGNED_IN", "SESSION_ENDED"]);
    assert.equal(events.seen[0]!.tokens!.refreshToken, signedUp.refreshToken);
    assert.deepEqual(events.seen[1]!.tokens, refreshed);
    assert.notEqual(refreshed.refreshToken, signedUp.refreshToken);
    assert.equal(events.seen[2]!.tokens, null);
    assert.equal(events.seen[4]!.tokens, null);
    assert.deepEqual(ended, ["INVALID_TOKEN"]);
    assert.equal(client.tokens, null);
  });

  it("a sign-out while a refresh is on its way is not undone by the refresh's answer", async () => {
    // fetch that holds back the answer to RefreshSession until `release()`.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let refreshSent!: () => void;
    const sent = new Promise<void>((resolve) => (refreshSent = resolve));
    const holdingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (typeof init?.body === "string" && JSON.parse(init.body).operationName === "RefreshSession") {
        refreshSent();
        await held;
      }
      return response;
    };
    const client = tab({ fetch: holdingFetch });
    const events = watch(client);
    await client.signUp({ email: uniqueEmail("late"), password: PASSWORD });

    const refreshing = client.refresh();
    await sent; // the server has rotated the token; its answer is held back
    assert.equal(await client.signOut(), true);
    release();
    const refreshed = await refreshing;

    assert.equal(refreshed, null);
    assert.equal(client.tokens, null);
    assert.deepEqual(events.events(), ["SIGNED_IN", "SIGNED_OUT"]);
  });

  it("a password change is TOKEN_REFRESHED; unsubscribing stops the calls", async () => {
    const client = tab({});
    const events = watch(client);
    const changes: Array<Tokens | null> = [];
    const unsubscribe = client.onAuthStateChange((_event, tokens) => changes.push(tokens));

    await client.signUp({ email: uniqueEmail("events"), password: PASSWORD });
    await client.changePassword({ currentPassword: PASSWORD, newPassword: "another good passphrase" });
    unsubscribe();
    await client.signOut();

    assert.deepEqual(events.events(), ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"]);
    assert.equal(changes.length, 2);
  });

  it("another tab's sign-in, refresh and sign-out reach this tab (shared store)", async () => {
    const storage = sharedStorage();
    const recorder = recordingFetch();
    const key = freshName();
    const store = () => localStorageTokenStore(key, storage, { sharedByTabs: true });
    const a = tab({ tokenStore: store(), fetch: recorder.fetch });
    const b = tab({ tokenStore: store(), fetch: recorder.fetch });
    const seenByA = watch(a);
    const seenByB = watch(b);
    const email = uniqueEmail("tabs");

    await a.signUp({ email, password: PASSWORD });
    const signedIn = await seenByB.until(1);
    await a.refresh();
    const refreshed = await seenByB.until(2);
    const me = await b.me();
    const refreshesSent = recorder.count("RefreshSession");
    await a.signOut();
    const signedOut = await seenByB.until(3);

    assert.deepEqual(seenByA.events(), ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"]);
    assert.deepEqual(seenByB.events(), ["other:SIGNED_IN", "other:TOKEN_REFRESHED", "other:SIGNED_OUT"]);
    assert.deepEqual(signedIn.tokens, seenByA.seen[0]!.tokens);
    assert.deepEqual(refreshed.tokens, seenByA.seen[1]!.tokens);
    assert.equal(signedOut.tokens, null);
    // B used A's refreshed tokens as they were: no second refresh.
    assert.equal(me?.email, email);
    assert.equal(refreshesSent, 1);
    assert.equal(b.isSignedIn, false);
    assert.equal(await b.me(), null);
  });

  it("private stores on a named channel copy each other's tokens, without a second refresh", async () => {
    const recorder = recordingFetch();
    const name = freshName();
    const a = tab({ broadcastChannel: name, fetch: recorder.fetch });
    const b = tab({ broadcastChannel: name, fetch: recorder.fetch });
    const seenByB = watch(b);
    const email = uniqueEmail("tabs");

    await a.signUp({ email, password: PASSWORD });
    await seenByB.until(1);
    const bAfterSignIn = b.tokens;
    const aAfterRefresh = await a.refresh();
    await seenByB.until(2);
    const bAfterRefresh = b.tokens;
    const sessions = await b.sessions();
    const refreshesSent = recorder.count("RefreshSession");
    await a.signOut();
    await seenByB.until(3);

    assert.deepEqual(bAfterSignIn, seenByB.seen[0]!.tokens);
    assert.deepEqual(bAfterRefresh, aAfterRefresh);
    assert.deepEqual(seenByB.seen[1]!.tokens, aAfterRefresh);
    assert.notEqual(bAfterRefresh!.refreshToken, bAfterSignIn!.refreshToken);
    assert.equal(sessions.length, 1);
    assert.equal(refreshesSent, 1);
    assert.deepEqual(seenByB.events(), ["other:SIGNED_IN", "other:TOKEN_REFRESHED", "other:SIGNED_OUT"]);
    assert.equal(b.tokens, null);
  });

  it("a memory store without a channel hears nothing from other clients", async () => {
    const a = tab({});
    const b = tab({});
    const seenByB = watch(b);

    await a.signUp({ email: uniqueEmail("private"), password: PASSWORD });
    await a.refresh();
    await a.signOut();
    await sleep(200);

    assert.deepEqual(seenByB.seen, []);
    assert.equal(b.tokens, null);
  });

  it("the session one tab finds ended is ended in the other tab too", async () => {
    const storage = sharedStorage();
    const key = freshName();
    const a = tab({ tokenStore: localStorageTokenStore(key, storage, { sharedByTabs: true }) });
    const b = tab({ tokenStore: localStorageTokenStore(key, storage, { sharedByTabs: true }) });
    const seenByB = watch(b);
    const email = uniqueEmail("ended");
    await a.signUp({ email, password: PASSWORD });
    const elsewhere = tab({});
    await elsewhere.signIn({ email, password: PASSWORD });
    await elsewhere.revokeOtherSessions();

    await assert.rejects(a.sessions());
    const ended = await seenByB.until(2);

    assert.deepEqual(seenByB.events(), ["other:SIGNED_IN", "other:SESSION_ENDED"]);
    assert.equal(ended.tokens, null);
    assert.equal(b.isSignedIn, false);
  });

  it("two tabs whose token expires at once send ONE refreshSession (they take turns)", async () => {
    const storage = sharedStorage();
    const recorder = recordingFetch();
    const key = freshName();
    let skew = 0;
    const options = () => ({
      tokenStore: localStorageTokenStore(key, storage, { sharedByTabs: true }),
      fetch: recorder.fetch,
      now: () => Date.now() + skew,
    });
    const a = tab(options());
    const b = tab(options());
    await a.signUp({ email: uniqueEmail("race"), password: PASSWORD });
    const before = a.tokens!;
    skew = 14.5 * 60 * 1000; // both tabs' clocks: 30 s before the 15-minute token expires

    const [fromA, fromB] = await Promise.all([a.sessions(), b.sessions()]);
    const [refreshedA, refreshedB] = await Promise.all([a.refresh(), b.refresh()]);

    // First round: one refresh for both tabs' calls. Second round, both asking to refresh now:
    // the tab that waited takes the other's result.
    assert.equal(recorder.count("RefreshSession"), 2);
    assert.equal(fromA.length, 1);
    assert.equal(fromB.length, 1);
    assert.deepEqual(refreshedA, refreshedB);
    assert.notEqual(refreshedA!.refreshToken, before.refreshToken);
    skew = 0;
    assert.equal((await b.sessions()).length, 1, "the session survived");
  });

  it("without a shared lock, racing refreshes are covered by the server's grace window", async () => {
    const recorder = recordingFetch();
    const a = tab({ fetch: recorder.fetch });
    await a.signUp({ email: uniqueEmail("grace"), password: PASSWORD });
    // A second client with a copy of the tokens and nothing to coordinate with.
    const b = tab({ fetch: recorder.fetch, tokenStore: memoryTokenStore({ ...a.tokens! }) });

    const [fromA, fromB] = await Promise.all([a.refresh(), b.refresh()]);

    assert.equal(recorder.count("RefreshSession"), 2);
    assert.ok(fromA && fromB, "both refreshes succeeded");
    assert.equal(fromA.refreshToken, fromB.refreshToken, "the same successor for both");
    // Reuse detection would have revoked the session: both tabs still use it.
    assert.equal((await a.sessions()).length, 1);
    assert.equal((await b.sessions()).length, 1);
  });

  it("ignores messages on the channel that are not auth changes", async () => {
    const name = freshName();
    const b = tab({ broadcastChannel: name });
    const seenByB = watch(b);
    const intruder = new BroadcastChannel(`todoql-auth:${name}`);
    const valid = { accessToken: "a", accessTokenExpiresAt: "2030-01-01T00:00:00Z", refreshToken: "r" };

    for (const message of [
      "SIGNED_IN",
      null,
      { event: "SIGNED_IN", tokens: valid }, // no version
      { todoqlAuth: 2, event: "SIGNED_IN", tokens: valid },
      { todoqlAuth: 1, event: "HACKED", tokens: valid },
      { todoqlAuth: 1, event: "SIGNED_IN", tokens: { accessToken: "a" } },
      { todoqlAuth: 1, event: "SIGNED_IN", tokens: null },
      { todoqlAuth: 1, event: "SIGNED_OUT", tokens: valid },
    ]) {
      intruder.postMessage(message);
    }
    intruder.postMessage({ todoqlAuth: 1, event: "SIGNED_IN", tokens: { ...valid, extra: "dropped" } });
    const accepted = await seenByB.until(1);
    await sleep(100);
    intruder.close();

    assert.deepEqual(seenByB.events(), ["other:SIGNED_IN"]);
    assert.deepEqual(accepted.tokens, valid);
    assert.deepEqual(b.tokens, valid);
  });
});

describe("realmLock", () => {
  it("runs the tasks of one name one at a time, in order, also after a failure", async () => {
    const log: string[] = [];
    const task = (id: string, fail = false) => async () => {
      log.push(`start ${id}`);
      await sleep(20);
      log.push(`end ${id}`);
      if (fail) throw new Error(id);
      return id;
    };

    const results = await Promise.allSettled([
      realmLock("x", task("1")),
      realmLock("x", task("2", true)),
      realmLock("x", task("3")),
      realmLock("y", task("other")),
    ]);

    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : `failed ${(r.reason as Error).message}`)),
      ["1", "failed 2", "3", "other"],
    );
    const xOnly = log.filter((line) => !line.endsWith("other"));
    assert.deepEqual(xOnly, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    // The other name did not wait for x.
    assert.ok(log.indexOf("start other") < log.indexOf("end 1"));
  });
});
