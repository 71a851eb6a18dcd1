// The security log through the client's `securityEvents` method, against a real server: what a
// sign-up (which signs in too), a wrong password and a sign-in leave in it, paging with first/after, the type filter,
// and that it is the caller's own.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TodoqlClient, TodoqlError, type SecurityEventFieldsFragment, type SecurityEventType } from "../dist/index.js";
import { PASSWORD, signedIn, sleep, startTodoql, uniqueEmail, type TodoqlServer } from "./helpers.js";

/** The user agent every client of this file sends, so that the log's userAgent is known. */
const USER_AGENT = "todoql-client-tests/security";

describe("the security log through the client", () => {
  let server: TodoqlServer;
  let owner: TodoqlClient;
  /** The session the sign-up started. */
  let ownerSessionId: string;
  /** The session of the second, successful sign-in (another device). */
  let laptopSessionId: string;
  const email = uniqueEmail("security");

  const newClient = () => new TodoqlClient({ url: server.graphqlUrl, headers: { "user-agent": USER_AGENT } });
  const typesOf = (events: SecurityEventFieldsFragment[]) => events.map((event) => event.type);

  /**
   * Waits until the log holds `count` events of `type`. A failed sign-in is written by a task of
   * its own just after the answer (so that recording it cannot change the answer or its timing),
   * hence a short poll.
   */
  async function untilLogged(client: TodoqlClient, type: SecurityEventType, count = 1): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { totalCount } = await client.securityEvents({ types: [type] });
      if (totalCount >= count) return;
      if (Date.now() > deadline) assert.fail(`no ${type} in the log after 10 s (${totalCount} of ${count})`);
      await sleep(50);
    }
  }

  before(async () => {
    server = await startTodoql();
    owner = newClient();
    ownerSessionId = (await owner.signUp({ email, password: PASSWORD })).session.id;

    const laptop = newClient();
    await assert.rejects(
      laptop.signIn({ email, password: "not the password at all" }),
      (error) => error instanceof TodoqlError && error.code === "INVALID_CREDENTIALS",
    );
    await untilLogged(owner, "SIGN_IN_FAILED");
    laptopSessionId = signedIn(await laptop.signIn({ email, password: PASSWORD })).session.id;
  });
  after(async () => {
    await server?.stop();
  });

  it("lists the sign-up, the failed sign-in and the sign-in, newest first, with their fields", async () => {
    const log = await owner.securityEvents();

    assert.equal(log.totalCount, 4);
    const events = log.edges.map((edge) => edge.node);
    assert.deepEqual(typesOf(events), ["SIGNED_IN", "SIGN_IN_FAILED", "SIGNED_IN", "SIGNED_UP"]);
    const [signedIn, failed, signedInBySignUp, signedUp] = events;
    assert.equal(signedIn!.method, "PASSWORD");
    assert.equal(signedIn!.sessionId, laptopSessionId);
    assert.equal(failed!.method, "PASSWORD");
    assert.equal(failed!.sessionId, null);
    assert.equal(signedInBySignUp!.sessionId, ownerSessionId);
    assert.equal(signedUp!.method, "PASSWORD");
    for (const event of events) {
      assert.equal(event.ipAddress, "127.0.0.1");
      assert.equal(event.userAgent, USER_AGENT);
      assert.equal(event.provider, null);
      assert.ok(!Number.isNaN(Date.parse(event.createdAt)), event.createdAt);
    }
    assert.ok(Date.parse(signedIn!.createdAt) >= Date.parse(signedUp!.createdAt));
    assert.equal(log.pageInfo.hasNextPage, false);
  });

  it("pages with first and after", async () => {
    const all = (await owner.securityEvents()).edges.map((edge) => edge.node);

    const first = await owner.securityEvents({ first: 2 });
    const second = await owner.securityEvents({ first: 2, after: first.pageInfo.endCursor });

    assert.equal(first.totalCount, 4);
    assert.equal(first.edges.length, 2);
    assert.equal(first.pageInfo.hasNextPage, true);
    assert.equal(first.pageInfo.endCursor, first.edges[1]!.cursor);
    assert.equal(second.edges.length, 2);
    assert.equal(second.pageInfo.hasNextPage, false);
    assert.deepEqual(
      [...first.edges, ...second.edges].map((edge) => edge.node.id),
      all.map((event) => event.id),
    );
  });

  it("filters with types", async () => {
    const failures = await owner.securityEvents({ types: ["SIGN_IN_FAILED"] });
    const accountAndSessions = await owner.securityEvents({ types: ["SIGNED_UP", "SIGNED_IN"] });
    const none = await owner.securityEvents({ types: ["PASSWORD_RESET"] });

    assert.equal(failures.totalCount, 1);
    assert.deepEqual(typesOf(failures.edges.map((edge) => edge.node)), ["SIGN_IN_FAILED"]);
    assert.equal(accountAndSessions.totalCount, 3);
    assert.deepEqual(typesOf(accountAndSessions.edges.map((edge) => edge.node)), ["SIGNED_IN", "SIGNED_IN", "SIGNED_UP"]);
    assert.equal(none.totalCount, 0);
    assert.deepEqual(none.edges, []);
  });

  it("is the caller's own, and needs a sign-in", async () => {
    const stranger = newClient();
    await stranger.signUp({ email: uniqueEmail("stranger"), password: PASSWORD });

    const theirs = await stranger.securityEvents();

    assert.deepEqual(typesOf(theirs.edges.map((edge) => edge.node)), ["SIGNED_IN", "SIGNED_UP"]);
    await assert.rejects(
      newClient().securityEvents(),
      (error) => error instanceof TodoqlError && error.code === "UNAUTHENTICATED",
    );
  });
});
