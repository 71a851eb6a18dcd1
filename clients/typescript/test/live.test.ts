// Live changes (subscribeToTodoChanges over graphql-ws) against a real server: changes of
// another device arrive once and in order; a network drop, a server restart (1012) and an
// expired token (4403) are survived without a gap or a duplicate; a revoked session, a purged
// history (RESYNC_REQUIRED) and too many sockets (4429) end the subscription with a typed event.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import {
  TodoqlClient,
  TodoqlError,
  type TodoChange,
  type TodoChangeEvent,
  type TodoFieldsFragment,
} from "../dist/index.js";
import { todoqlBin } from "../../test-support/server.mjs";
import { PASSWORD, recordingClient, sleep, startTodoql, uniqueEmail, type TodoqlServer } from "./helpers.js";
import { startTcpProxy } from "./tcp-proxy.js";

/** Accounts need no verified address here: the todos are what is tested. */
const SERVER_ARGS = ["--require-verified-email", "false"];

/** Node 20 has no global WebSocket: the `ws` package's, as a Node app would pass it. */
function liveClient(url: string, options: { onSessionEnded?: (error: TodoqlError) => void } = {}) {
  return new TodoqlClient({ url, webSocketImpl: WebSocket, ...options });
}

/** The events of one subscription, and a way to wait for the next one that matches. */
function recorder() {
  const events: TodoChangeEvent[] = [];
  const waiting = new Set<() => void>();
  return {
    events,
    listener: (event: TodoChangeEvent) => {
      events.push(event);
      for (const check of [...waiting]) check();
    },
    /** The changes delivered so far. */
    changes: (): TodoChange[] => events.flatMap((e) => (e.type === "CHANGE" ? [e.change] : [])),
    /** Resolves with the `nth` (1-based) event that matches, now or later. */
    waitFor<T extends TodoChangeEvent>(
      what: string,
      match: (event: TodoChangeEvent) => event is T,
      { nth = 1, timeoutMs = 15000 } = {},
    ): Promise<T> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.filter(match);
          if (found.length >= nth) {
            waiting.delete(check);
            clearTimeout(timer);
            resolve(found[nth - 1]!);
          }
        };
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`timed out waiting for ${what}; events so far: ${JSON.stringify(events.map(summary))}`));
        }, timeoutMs);
        waiting.add(check);
        check();
      });
    },
  };
}

function summary(event: TodoChangeEvent): string {
  switch (event.type) {
    case "CHANGE":
      return `CHANGE ${event.change.revision} ${event.change.kind}`;
    case "CONNECTED":
      return `CONNECTED since ${event.since}`;
    case "DISCONNECTED":
      return `DISCONNECTED ${event.closeCode}`;
    default:
      return `${event.type} ${event.error.message}`;
  }
}

const is =
  <K extends TodoChangeEvent["type"]>(type: K) =>
  (event: TodoChangeEvent): event is Extract<TodoChangeEvent, { type: K }> =>
    event.type === type;

/** Waits until `count` changes arrived (in all), returns them. */
async function changesUpTo(events: ReturnType<typeof recorder>, count: number): Promise<TodoChange[]> {
  await events.waitFor(`${count} changes`, is("CHANGE"), { nth: count });
  return events.changes();
}

/**
 * Applies changes to a list as an app would (the replay rule): CREATED/UPDATED/RESTORED upsert
 * the todo when it is not null, DELETED removes it.
 */
function apply(list: Map<string, TodoFieldsFragment>, change: TodoChange): void {
  if (change.kind === "DELETED") list.delete(change.todoId);
  else if (change.todo) list.set(change.todo.id, change.todo);
}

/** One account signed in on two devices (two sessions). */
async function twoDevices(url: string, phoneUrl = url) {
  const email = uniqueEmail("live");
  const laptop = liveClient(url);
  const laptopSession = (await laptop.signUp({ email, password: PASSWORD })).session.id;
  const phone = recordingClient(phoneUrl, { webSocketImpl: WebSocket });
  const signedIn = await phone.client.signIn({ email, password: PASSWORD });
  assert.equal(signedIn.kind, "SIGNED_IN");
  const phoneSession = signedIn.kind === "SIGNED_IN" ? signedIn.session.id : "";
  return { email, laptop, laptopSession, phone: phone.client, phoneSession, phoneRequests: phone };
}

describe("live changes", () => {
  let server: TodoqlServer;
  before(async () => {
    server = await startTodoql({ args: SERVER_ARGS });
  });
  after(async () => {
    await server?.stop();
  });

  it("changes made on another device arrive once, in revision order, replayed from `since` first", async () => {
    const { laptop, laptopSession, phone, phoneSession } = await twoDevices(server.graphqlUrl);
    const page = await phone.todos();
    assert.equal(page.revision, 0);
    // Made after the phone loaded its list, before it subscribed: replayed.
    const milk = await laptop.createTodo({ title: "milk" });

    const events = recorder();
    const live = phone.subscribeToTodoChanges({ since: page.revision }, events.listener);
    await events.waitFor("CONNECTED", is("CONNECTED"));
    await laptop.updateTodo(milk.id, { title: "oat milk" });
    await laptop.setTodoCompleted(milk.id, true);
    await laptop.deleteTodo(milk.id);
    await laptop.restoreTodo(milk.id);
    const bread = await phone.createTodo({ title: "bread" }); // the phone's own change comes back too
    await laptop.deleteTodo(bread.id);
    // Another account's change never arrives.
    const stranger = liveClient(server.graphqlUrl);
    await stranger.signUp({ email: uniqueEmail("stranger"), password: PASSWORD });
    await stranger.createTodo({ title: "not yours" });

    const changes = await changesUpTo(events, 7);
    assert.deepEqual(
      changes.map((c) => [c.revision, c.kind, c.todoId]),
      [
        [1, "CREATED", milk.id],
        [2, "UPDATED", milk.id],
        [3, "UPDATED", milk.id],
        [4, "DELETED", milk.id],
        [5, "RESTORED", milk.id],
        [6, "CREATED", bread.id],
        [7, "DELETED", bread.id],
      ],
    );
    assert.deepEqual(
      changes.map((c) => c.originSessionId),
      [laptopSession, laptopSession, laptopSession, laptopSession, laptopSession, phoneSession, laptopSession],
    );
    // Live payloads: the restored todo as it is now, the deleted one as its trash entry.
    assert.equal(changes[4]!.todo?.title, "oat milk");
    assert.equal(changes[4]!.todo?.isCompleted, true);
    assert.equal(changes[6]!.deletedTodo?.title, "bread");
    assert.equal(live.revision, 7);

    // Applied in order, they give the list the server has.
    const list = new Map<string, TodoFieldsFragment>(page.edges.map((e) => [e.node.id, e.node]));
    for (const change of changes) apply(list, change);
    const now = await phone.todos();
    assert.deepEqual([...list.values()], now.edges.map((e) => e.node));
    assert.equal(now.revision, 7);

    // Nothing after unsubscribe, and nothing else came (the stranger's todo, duplicates).
    live.unsubscribe();
    assert.equal(live.closed, true);
    await laptop.createTodo({ title: "after unsubscribe" });
    await sleep(500);
    assert.equal(events.changes().length, 7);
    assert.equal(events.events.filter(is("CONNECTED")).length, 1);
  });

  it("a network drop: reconnects with since = the last revision, and gets what it missed once", async () => {
    const proxy = await startTcpProxy(server.graphqlUrl);
    try {
      const { laptop, phone } = await twoDevices(server.graphqlUrl, proxy.graphqlUrl);
      const events = recorder();
      const live = phone.subscribeToTodoChanges({ since: (await phone.todos()).revision }, events.listener);
      await events.waitFor("CONNECTED", is("CONNECTED"));
      const first = await laptop.createTodo({ title: "before the drop" });
      await changesUpTo(events, 1);

      // The network goes away: open connections die without a close frame, new ones fail.
      proxy.block();
      proxy.drop();
      const dropped = await events.waitFor("DISCONNECTED", is("DISCONNECTED"));
      assert.equal(dropped.closeCode, 1006);
      const missed = [await laptop.createTodo({ title: "while away 1" }), await laptop.createTodo({ title: "while away 2" })];
      await laptop.setTodoCompleted(first.id, true);
      await sleep(1500); // at least one reconnection attempt fails meanwhile
      proxy.unblock();

      const reconnected = await events.waitFor("CONNECTED again", is("CONNECTED"), { nth: 2 });
      assert.equal(reconnected.since, 1);
      const changes = await changesUpTo(events, 4);
      assert.deepEqual(
        changes.map((c) => [c.revision, c.kind, c.todoId]),
        [
          [1, "CREATED", first.id],
          [2, "CREATED", missed[0]!.id],
          [3, "CREATED", missed[1]!.id],
          [4, "UPDATED", first.id],
        ],
      );
      // And live again after the replay.
      const later = await laptop.createTodo({ title: "live again" });
      assert.deepEqual((await changesUpTo(events, 5)).map((c) => c.todoId).slice(4), [later.id]);
      await sleep(300);
      assert.equal(events.changes().length, 5);
      live.unsubscribe();
    } finally {
      await proxy.close();
    }
  });

  it("a server restart (1012): resumes on the same database without a gap or a duplicate", async () => {
    const restarting = await startTodoql({ args: SERVER_ARGS });
    const proxy = await startTcpProxy(restarting.graphqlUrl);
    try {
      const { laptop, phone } = await twoDevices(restarting.graphqlUrl, proxy.graphqlUrl);
      const events = recorder();
      const live = phone.subscribeToTodoChanges({ since: (await phone.todos()).revision }, events.listener);
      await events.waitFor("CONNECTED", is("CONNECTED"));
      const first = await laptop.createTodo({ title: "before the restart" });
      await changesUpTo(events, 1);

      // The phone stays away until the laptop has changed things on the restarted server.
      proxy.block();
      await restarting.restart();
      const closed = await events.waitFor("DISCONNECTED", is("DISCONNECTED"));
      assert.equal(closed.closeCode, 1012);
      const during = await laptop.createTodo({ title: "after the restart" });
      await laptop.deleteTodo(first.id);
      proxy.unblock();

      const reconnected = await events.waitFor("CONNECTED again", is("CONNECTED"), { nth: 2 });
      assert.equal(reconnected.since, 1);
      const changes = await changesUpTo(events, 3);
      assert.deepEqual(
        changes.map((c) => [c.revision, c.kind, c.todoId]),
        [
          [1, "CREATED", first.id],
          [2, "CREATED", during.id],
          [3, "DELETED", first.id],
        ],
      );
      await sleep(300);
      assert.equal(events.changes().length, 3);
      live.unsubscribe();
    } finally {
      await proxy.close();
      await restarting.stop();
    }
  });

  it("an expired token (4403): refreshes the session, reconnects, misses nothing", async () => {
    const shortLived = await startTodoql({ args: SERVER_ARGS, env: { TODOQL_ACCESS_TOKEN_TTL: "2" } });
    try {
      const { laptop, phone, phoneRequests } = await twoDevices(shortLived.graphqlUrl);
      const events = recorder();
      const live = phone.subscribeToTodoChanges({ since: (await phone.todos()).revision }, events.listener);
      await events.waitFor("CONNECTED", is("CONNECTED"));
      const refreshesBefore = phoneRequests.count("RefreshSession");
      const first = await laptop.createTodo({ title: "one" });

      const refused = await events.waitFor("4403", (e): e is Extract<TodoChangeEvent, { type: "DISCONNECTED" }> =>
        e.type === "DISCONNECTED" && e.closeCode === 4403,
      );
      assert.equal(refused.retryInMs, 0);
      const second = await laptop.createTodo({ title: "two" });
      await events.waitFor("CONNECTED after the refresh", is("CONNECTED"), { nth: 2 });
      const changes = await changesUpTo(events, 2);
      assert.deepEqual(changes.map((c) => [c.revision, c.todoId]), [
        [1, first.id],
        [2, second.id],
      ]);
      assert.ok(phoneRequests.count("RefreshSession") > refreshesBefore, "the phone refreshed its session");
      assert.equal(live.closed, false);
      live.unsubscribe();
    } finally {
      await shortLived.stop();
    }
  });

  it("a revoked session (4403, refresh refused) ends with ERROR UNAUTHENTICATED", async () => {
    const ended: TodoqlError[] = [];
    const email = uniqueEmail("revoked");
    const laptop = liveClient(server.graphqlUrl);
    await laptop.signUp({ email, password: PASSWORD });
    const phone = liveClient(server.graphqlUrl, { onSessionEnded: (error) => ended.push(error) });
    const signedIn = await phone.signIn({ email, password: PASSWORD });
    assert.equal(signedIn.kind, "SIGNED_IN");
    const events = recorder();
    const live = phone.subscribeToTodoChanges({ since: 0 }, events.listener);
    await events.waitFor("CONNECTED", is("CONNECTED"));
    // CONNECTED is the socket's acknowledgement; the subscription itself is running once a
    // change arrives. Revoked before that, the server refuses the subscribe message instead
    // (UNAUTHENTICATED, no close code): the sweep's 4403 is what this test is about.
    await laptop.createTodo({ title: "subscribed" });
    await changesUpTo(events, 1);

    await laptop.revokeSession(signedIn.kind === "SIGNED_IN" ? signedIn.session.id : "");
    const error = await events.waitFor("ERROR", is("ERROR"));
    assert.equal(error.closeCode, 4403);
    assert.ok(error.error instanceof TodoqlError);
    assert.equal(error.error.code, "UNAUTHENTICATED");
    assert.equal(live.closed, true);
    assert.equal(phone.tokens, null);
    assert.equal(ended.length, 1);
  });

  it("signed out: ERROR UNAUTHENTICATED at once, no socket", async () => {
    const events = recorder();
    const live = liveClient(server.graphqlUrl).subscribeToTodoChanges({ since: 0 }, events.listener);
    const error = await events.waitFor("ERROR", is("ERROR"));
    assert.ok(error.error instanceof TodoqlError && error.error.code === "UNAUTHENTICATED");
    assert.equal(live.closed, true);
    assert.deepEqual(events.events.map((e) => e.type), ["ERROR"]);
  });

  it("history older than the kept log: RESYNC_REQUIRED, typed; reload and subscribe again", async () => {
    const { laptop, phone } = await twoDevices(server.graphqlUrl);
    for (const title of ["a", "b", "c"]) await laptop.createTodo({ title });
    // The retention purge (the real one, `todoql purge`) after the log grew 40 days old.
    backdateChanges(server.databaseUrl, 40);
    const purge = spawnSync(todoqlBin(), ["purge", "--database-url", server.databaseUrl, "--log-format", "json"], {
      encoding: "utf8",
    });
    assert.equal(purge.status, 0, purge.stderr);

    const events = recorder();
    const stale = phone.subscribeToTodoChanges({ since: 0 }, events.listener);
    const resync = await events.waitFor("RESYNC_REQUIRED", is("RESYNC_REQUIRED"));
    assert.ok(resync.error instanceof TodoqlError);
    assert.equal(resync.error.code, "RESYNC_REQUIRED");
    assert.equal(stale.closed, true);
    assert.equal(events.changes().length, 0);

    // What an app does: reload the list, subscribe from its revision.
    const page = await phone.todos();
    assert.equal(page.totalCount, 3);
    const again = recorder();
    const live = phone.subscribeToTodoChanges({ since: page.revision }, again.listener);
    await again.waitFor("CONNECTED", is("CONNECTED"));
    const next = await laptop.createTodo({ title: "d" });
    const [change] = await changesUpTo(again, 1);
    assert.equal(change!.todoId, next.id);
    assert.equal(change!.revision, page.revision + 1);
    live.unsubscribe();
  });

  it("too many sockets for the user (4429): ERROR, no reconnection loop", async () => {
    const limited = await startTodoql({ args: SERVER_ARGS, env: { TODOQL_WS_MAX_PER_USER: "1" } });
    try {
      const { phone } = await twoDevices(limited.graphqlUrl);
      const first = recorder();
      const kept = phone.subscribeToTodoChanges({ since: 0 }, first.listener);
      await first.waitFor("CONNECTED", is("CONNECTED"));
      const second = recorder();
      const refused = phone.subscribeToTodoChanges({ since: 0 }, second.listener);
      const error = await second.waitFor("ERROR", is("ERROR"));
      assert.equal(error.closeCode, 4429);
      assert.equal(refused.closed, true);
      await sleep(1000);
      assert.deepEqual(second.events.map((e) => e.type), ["ERROR"]);
      assert.equal(kept.closed, false);
      kept.unsubscribe();
    } finally {
      await limited.stop();
    }
  });
});

/** Moves every logged change `days` into the past, in the server's SQLite file (python3's sqlite3). */
function backdateChanges(databaseUrl: string, days: number): void {
  const file = new URL(databaseUrl.replace(/^sqlite:/, "file:")).pathname;
  const script = [
    "import sqlite3, sys, datetime",
    "db = sqlite3.connect(sys.argv[1])",
    "rows = db.execute('SELECT rowid, occurred_at FROM todo_changes').fetchall()",
    "assert rows, 'no change logged'",
    // Keep the stored text's own format: only the date moves.
    "for rowid, text in rows:",
    "    day = datetime.date.fromisoformat(text[:10]) - datetime.timedelta(days=int(sys.argv[2]))",
    "    db.execute('UPDATE todo_changes SET occurred_at = ? WHERE rowid = ?', (day.isoformat() + text[10:], rowid))",
    "db.commit()",
  ].join("\n");
  const result = spawnSync("python3", ["-c", script, file, String(days)], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
}
