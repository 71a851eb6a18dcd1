// Errors from a real server surface as TodoqlError with the contract's extensions.code.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RefreshSessionDocument, TodoqlClient, TodoqlError, TodoqlNetworkError, isTodoqlError } from "../dist/index.js";
import { PASSWORD, startTodoql, uniqueEmail, type TodoqlServer } from "./helpers.js";

/** The error `promise` rejects with, which must be a TodoqlError. */
async function todoqlError(promise: Promise<unknown>): Promise<TodoqlError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TodoqlError, `expected a TodoqlError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

describe("typed errors", () => {
  let server: TodoqlServer;
  before(async () => {
    server = await startTodoql({ args: ["--signin-failures-per-email", "2"] });
  });
  after(async () => {
    await server?.stop();
  });

  it("a refused input names its field (BAD_USER_INPUT)", async () => {
    const client = new TodoqlClient({ url: server.graphqlUrl });

    const error = await todoqlError(client.signUp({ email: uniqueEmail(), password: "short" }));

    assert.equal(error.code, "BAD_USER_INPUT");
    assert.equal(error.field, "password");
    assert.equal(error.operationName, "SignUp");
    assert.equal(client.tokens, null);
  });

  it("a taken email is CONFLICT", async () => {
    const email = uniqueEmail();
    await new TodoqlClient({ url: server.graphqlUrl }).signUp({ email, password: PASSWORD });

    const error = await todoqlError(new TodoqlClient({ url: server.graphqlUrl }).signUp({ email, password: PASSWORD }));

    assert.equal(error.code, "CONFLICT");
    assert.ok(isTodoqlError(error, "CONFLICT"));
    assert.ok(!isTodoqlError(error, "NOT_FOUND"));
  });

  it("a wrong password is INVALID_CREDENTIALS, then RATE_LIMITED with retryAfter", async () => {
    const email = uniqueEmail();
    const client = new TodoqlClient({ url: server.graphqlUrl });
    await client.signUp({ email, password: PASSWORD });
    const stranger = new TodoqlClient({ url: server.graphqlUrl });

    const first = await todoqlError(stranger.signIn({ email, password: "wrong password here" }));
    await todoqlError(stranger.signIn({ email, password: "wrong password here" }));
    const third = await todoqlError(stranger.signIn({ email, password: "wrong password here" }));

    assert.equal(first.code, "INVALID_CREDENTIALS");
    assert.equal(third.code, "RATE_LIMITED");
    assert.ok(typeof third.retryAfter === "number" && third.retryAfter > 0, `retryAfter ${third.retryAfter}`);
  });

  it("a signed-out call that needs a user is UNAUTHENTICATED, and `me` is null", async () => {
    const client = new TodoqlClient({ url: server.graphqlUrl });

    const error = await todoqlError(client.sessions());

    assert.equal(error.code, "UNAUTHENTICATED");
    assert.equal(await client.me(), null);
  });

  it("an unknown refresh token is INVALID_TOKEN", async () => {
    const client = new TodoqlClient({ url: server.graphqlUrl });

    const error = await todoqlError(
      client.request(RefreshSessionDocument, { refreshToken: "not-a-token" }, { anonymous: true }),
    );

    assert.equal(error.code, "INVALID_TOKEN");
  });

  it("another user's session is out of reach", async () => {
    const ada = new TodoqlClient({ url: server.graphqlUrl });
    const bob = new TodoqlClient({ url: server.graphqlUrl });
    const adaSession = (await ada.signUp({ email: uniqueEmail("ada"), password: PASSWORD })).session;
    await bob.signUp({ email: uniqueEmail("bob"), password: PASSWORD });

    const error = await todoqlError(bob.revokeSession(adaSession.id));

    assert.ok(["NOT_FOUND", "FORBIDDEN"].includes(error.code), error.code);
    assert.equal((await ada.sessions()).length, 1);
  });

  it("no server, or a non-GraphQL answer, is a TodoqlNetworkError", async () => {
    const closed = new TodoqlClient({ url: "http://127.0.0.1:9/graphql" });
    const notGraphql = new TodoqlClient({ url: `${server.baseUrl}/metrics` });

    await assert.rejects(closed.authConfig(), TodoqlNetworkError);
    await assert.rejects(notGraphql.authConfig(), (error: unknown) => {
      assert.ok(error instanceof TodoqlNetworkError);
      assert.equal(error.status, 405);
      return true;
    });
  });
});
