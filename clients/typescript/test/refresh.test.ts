// Token refresh against a real server: before expiry, after expiry, on UNAUTHENTICATED, and
// single-flight under concurrency (refresh tokens rotate; racing refreshes would end the session).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TodoqlClient, TodoqlError, memoryTokenStore, type Tokens } from "../dist/index.js";
import { PASSWORD, recordingClient, signedIn, sleep, startTodoql, uniqueEmail, type TodoqlServer } from "./helpers.js";

describe("refresh", () => {
  let server: TodoqlServer;
  let shortLived: TodoqlServer;
  before(async () => {
    [server, shortLived] = await Promise.all([
      startTodoql(),
      // Access tokens of 2 seconds, so that one can really expire during a test.
      startTodoql({ args: ["--access-token-ttl", "2"] }),
    ]);
  });
  after(async () => {
    await Promise.all([server?.stop(), shortLived?.stop()]);
  });

  it("ten concurrent calls with a token about to expire share ONE refresh", async () => {
    let skew = 0;
    const { client, count } = recordingClient(server.graphqlUrl, { now: () => Date.now() + skew });
    await client.signUp({ email: uniqueEmail(), password: PASSWORD });
    const before = client.tokens!;
    skew = 14.5 * 60 * 1000; // 30 s before the 15-minute token expires, by the client's clock

    const results = await Promise.all(Array.from({ length: 10 }, () => client.sessions()));

    assert.equal(count("RefreshSession"), 1);
    assert.equal(count("Sessions"), 10);
    for (const sessions of results) assert.equal(sessions.length, 1);
    const after = client.tokens!;
    assert.notEqual(after.refreshToken, before.refreshToken);
    // (The access token may read the same: same claims within the same second.)
    // The session survived: the rotated token works, and there is still one session.
    skew = 0;
    const sessions = await client.sessions();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.current, true);
  });

  it("ten concurrent calls refused as UNAUTHENTICATED share ONE refresh and are retried", async () => {
    const { client, count } = recordingClient(server.graphqlUrl);
    await client.signUp({ email: uniqueEmail(), password: PASSWORD });
    // An access token the server no longer accepts (as after a restart with a new key), whose
    // expiry the client cannot foresee.
    client.setTokens({ ...client.tokens!, accessToken: "not.a.jwt" });

    const results = await Promise.all(Array.from({ length: 10 }, () => client.sessions()));

    assert.equal(count("RefreshSession"), 1);
    assert.equal(count("Sessions"), 20); // each call: refused once, then retried
    for (const sessions of results) assert.equal(sessions.length, 1);
    assert.notEqual(client.tokens!.accessToken, "not.a.jwt");
  });

  it("an access token that has expired is refreshed before the call", async () => {
    const { client, count } = recordingClient(shortLived.graphqlUrl);
    const payload = await client.signUp({ email: uniqueEmail(), password: PASSWORD });
    const lifetime = Date.parse(payload.accessTokenExpiresAt) - Date.now();
    assert.ok(lifetime <= 2000, `the token lives ${lifetime} ms`);

    await sleep(lifetime + 300);
    const me = await client.me();

    assert.equal(me?.id, payload.user.id); // `me` would be null with the expired token
    assert.equal(count("RefreshSession"), 1);
    assert.ok(Date.parse(client.tokens!.accessTokenExpiresAt) > Date.now());
  });

  it("a token the server sees as expired is refreshed on UNAUTHENTICATED (client clock behind)", async () => {
    const { client, count } = recordingClient(shortLived.graphqlUrl, { now: () => Date.now() - 60_000 });
    await client.signUp({ email: uniqueEmail(), password: PASSWORD });

    await sleep(2300);
    const sessions = await client.sessions();

    assert.equal(sessions.length, 1);
    assert.equal(count("RefreshSession"), 1);
    assert.equal(count("Sessions"), 2);
  });

  it("a refused refresh token ends the session once, for every waiting call", async () => {
    const ended: TodoqlError[] = [];
    const changes: Array<Tokens | null> = [];
    let skew = 0;
    const store = memoryTokenStore();
    const { client, count } = recordingClient(server.graphqlUrl, {
      tokenStore: store,
      now: () => Date.now() + skew,
      onSessionEnded: (error) => ended.push(error),
      onTokensChange: (tokens) => changes.push(tokens),
    });
    await client.signUp({ email: uniqueEmail(), password: PASSWORD });
    // The same session signed out elsewhere (another device holding the same tokens).
    const elsewhere = new TodoqlClient({ url: server.graphqlUrl, tokenStore: memoryTokenStore(store.get()) });
    assert.equal(await elsewhere.signOut(), true);
    skew = 20 * 60 * 1000;

    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => client.sessions()));

    assert.equal(count("RefreshSession"), 1);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      assert.ok(outcome.reason instanceof TodoqlError);
      assert.equal(outcome.reason.code, "UNAUTHENTICATED");
    }
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.code, "INVALID_TOKEN");
    assert.equal(client.tokens, null);
    assert.equal(changes.at(-1), null);
  });

  it("sign-in methods keep the tokens; signOut forgets them and ends the session", async () => {
    const email = uniqueEmail();
    const client = new TodoqlClient({ url: server.graphqlUrl });
    await client.signUp({ email, password: PASSWORD });
    await client.signOut();
    assert.equal(client.tokens, null);

    const payload = signedIn(await client.signIn({ email, password: PASSWORD }));
    const tokens = client.tokens!;
    const me = await client.me();
    await client.signOut();
    const replay = new TodoqlClient({ url: server.graphqlUrl, tokenStore: memoryTokenStore(tokens) });

    assert.equal(tokens.refreshToken, payload.refreshToken);
    assert.equal(me?.email, email);
    assert.equal(client.tokens, null);
    assert.equal(await client.me(), null);
    // The old tokens stopped working on the server too.
    await assert.rejects(replay.sessions(), (error: unknown) => error instanceof TodoqlError && error.code === "UNAUTHENTICATED");
  });
});
