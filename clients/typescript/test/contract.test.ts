// Every operation document of the client runs against a real server (with a real SMTP sink for
// the mailed codes and links), through the client's typed methods.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import * as api from "../dist/index.js";
import { TodoqlClient, TodoqlError } from "../dist/index.js";
import {
  PASSWORD,
  codeAndLink,
  recordingFetch,
  recordingWebSocket,
  signedIn,
  startSmtpSink,
  startTodoql,
  uniqueEmail,
  type SmtpSink,
  type TodoqlServer,
} from "./helpers.js";

/** The name of every operation in src/operations/*.graphql. */
function operationsInSource(): string[] {
  const dir = fileURLToPath(new URL("../src/operations/", import.meta.url));
  return readdirSync(dir)
    .filter((name) => name.endsWith(".graphql"))
    .flatMap((name) => parse(readFileSync(path.join(dir, name), "utf8")).definitions)
    .flatMap((definition) => (definition.kind === "OperationDefinition" && definition.name ? [definition.name.value] : []))
    .sort();
}

/** The name of every operation the package ships (fragments excluded). */
function allOperationNames(): string[] {
  return Object.entries(api)
    .filter(([name, value]) => name.endsWith("Document") && (value as { kind?: unknown }).kind === "Document")
    .map(([, value]) => api.operationNameOf(value as api.TodoqlDocument<unknown, unknown>))
    .filter((name): name is string => name !== undefined)
    .sort();
}

async function rejectsWith(promise: Promise<unknown>, codes: api.ErrorCode[]): Promise<TodoqlError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TodoqlError, String(error));
    assert.ok(codes.includes(error.code), `${error.code}: ${error.message}`);
    return error;
  }
  assert.fail("expected an error");
}

describe("the whole contract through the client", () => {
  let sink: SmtpSink;
  let server: TodoqlServer;
  const recorder = recordingFetch();
  before(async () => {
    sink = await startSmtpSink();
    server = await startTodoql({ args: ["--smtp-url", sink.url, "--app-url", "http://app.test"] });
  });
  after(async () => {
    await server?.stop();
    await sink?.close();
  });

  it("accounts, email flows, todos and sessions", async () => {
    const client = new TodoqlClient({
      url: server.graphqlUrl,
      fetch: recorder.fetch,
      webSocketImpl: recordingWebSocket(recorder.operations),
    });
    const email = uniqueEmail("contract");

    // Sign-up, verification by code, profile.
    const config = await client.authConfig();
    assert.equal(config.passwordSignIn, true);
    const signedUp = await client.signUp({ email, password: PASSWORD, username: "Ada" });
    assert.equal(signedUp.user.emailVerified, false);
    await rejectsWith(client.todos(), ["EMAIL_NOT_VERIFIED"]);
    const verifyMail = await sink.waitForMail(email, { match: (m) => /verify/i.test(m.subject) });
    assert.equal(await client.sendVerificationEmail(), true);
    const secondMail = await sink.waitForMail(email, { match: (m) => /verify/i.test(m.subject), skip: 1 });
    // Sending a new code killed the first one.
    await rejectsWith(client.verifyEmail({ email, code: codeAndLink(verifyMail).code! }), ["INVALID_TOKEN"]);
    const verified = await client.verifyEmail({ token: codeAndLink(secondMail).token! });
    assert.equal(verified.emailVerified, true);
    const profile = await client.updateProfile({ username: "Ada L." });
    assert.equal(profile.username, "Ada L.");
    assert.equal((await client.me())?.username, "Ada L.");

    // Todos and the trash.
    const milk = await client.createTodo({ title: "Buy milk", description: "2 litres" });
    const report = await client.createTodo({ title: "Write the report", dueDate: new Date(Date.now() + 86_400_000).toISOString() });
    await rejectsWith(client.createTodo({ title: " Buy milk " }), ["CONFLICT"]);
    const bad = await rejectsWith(client.createTodo({ title: "" }), ["BAD_USER_INPUT"]);
    assert.equal(bad.field, "title");
    assert.equal((await client.setTodoCompleted(milk.id, true)).isCompleted, true);
    assert.equal((await client.updateTodo(report.id, { title: "Write the annual report", description: null })).title, "Write the annual report");
    assert.equal((await client.todo(report.id))?.description, null);
    const page = await client.todos({ first: 1, orderBy: { field: "TITLE", direction: "ASC" } });
    assert.equal(page.totalCount, 2);
    assert.equal(page.edges[0]!.node.title, "Buy milk");
    const next = await client.todos({ first: 1, after: page.pageInfo.endCursor, orderBy: { field: "TITLE", direction: "ASC" } });
    assert.equal(next.edges[0]!.node.title, "Write the annual report");
    assert.equal((await client.todos({ filter: { isCompleted: true } })).totalCount, 1);
    const deleted = await client.deleteTodo(report.id);
    assert.equal(deleted.id, report.id);
    assert.equal((await client.deletedTodos()).edges[0]!.node.title, "Write the annual report");
    assert.equal(await client.todo(report.id), null);
    const restored = await client.restoreTodo(report.id);
    assert.equal(restored.id, report.id);
    assert.equal((await client.deletedTodos()).totalCount, 0);
    await rejectsWith(client.todo("not-a-uuid"), ["BAD_USER_INPUT"]);

    // The change log, page by page (offline sync) and live over the WebSocket.
    const changeLog = await client.todoChanges(0);
    assert.deepEqual(
      changeLog.nodes.map((change) => [change.revision, change.kind]),
      [[1, "CREATED"], [2, "CREATED"], [3, "UPDATED"], [4, "UPDATED"], [5, "DELETED"], [6, "RESTORED"]],
    );
    assert.equal(changeLog.revision, 6);
    assert.equal(changeLog.hasMore, false);
    assert.equal((await client.todos()).revision, 6);
    const stretch = await client.todoChanges(4, 1);
    assert.deepEqual([stretch.nodes.map((c) => c.kind), stretch.revision, stretch.hasMore], [["DELETED"], 5, true]);
    await rejectsWith(client.todoChanges(-1), ["BAD_USER_INPUT"]);
    const replayed = await new Promise<api.TodoChange[]>((resolve, reject) => {
      const changes: api.TodoChange[] = [];
      const live = client.subscribeToTodoChanges({ since: 4 }, (event) => {
        if (event.type === "CHANGE") changes.push(event.change);
        if (changes.length === 2) {
          live.unsubscribe();
          resolve(changes);
        }
        if (event.type === "ERROR" || event.type === "RESYNC_REQUIRED") reject(event.error);
      });
    });
    assert.deepEqual(replayed.map((c) => [c.revision, c.kind, c.todoId]), [
      [5, "DELETED", report.id],
      [6, "RESTORED", report.id],
    ]);

    // Sessions: a second device, revoked one by one and all at once.
    const phone = new TodoqlClient({ url: server.graphqlUrl, fetch: recorder.fetch });
    const tablet = new TodoqlClient({ url: server.graphqlUrl, fetch: recorder.fetch });
    const phoneSession = signedIn(await phone.signIn({ email, password: PASSWORD })).session;
    await tablet.signIn({ email, password: PASSWORD });
    assert.equal((await client.sessions()).length, 3);
    assert.equal(await client.revokeSession(phoneSession.id), true);
    await rejectsWith(phone.sessions(), ["UNAUTHENTICATED"]);
    assert.equal(await client.revokeOtherSessions(), 1);
    await rejectsWith(tablet.sessions(), ["UNAUTHENTICATED"]);

    // Password change keeps this session with new tokens.
    const before = client.tokens!;
    const changed = await client.changePassword({ currentPassword: PASSWORD, newPassword: "another good passphrase" });
    assert.notEqual(changed.refreshToken, before.refreshToken);
    assert.equal(client.tokens!.refreshToken, changed.refreshToken);
    assert.equal((await client.sessions()).length, 1);
    assert.equal(await client.refresh().then((t) => t !== null), true);

    // Email change: code to the new address.
    const newEmail = uniqueEmail("moved");
    assert.equal(await client.requestEmailChange({ newEmail, currentPassword: "another good passphrase" }), true);
    const changeMail = await sink.waitForMail(newEmail);
    const moved = await client.confirmEmailChange({ code: codeAndLink(changeMail).code! });
    assert.equal(moved.email, newEmail);

    // Passwordless sign-in, then password reset by the mailed link.
    const codeClient = new TodoqlClient({ url: server.graphqlUrl, fetch: recorder.fetch });
    assert.equal(await codeClient.requestSignInCode(newEmail), true);
    const codeMail = await sink.waitForMail(newEmail, { match: (m) => /sign-in code/i.test(m.subject) });
    const byCode = signedIn(await codeClient.signInWithCode({ email: newEmail, code: codeAndLink(codeMail).code! }));
    assert.equal(byCode.user.email, newEmail);
    assert.equal(await codeClient.signOut(), true);
    assert.equal(await client.requestPasswordReset(newEmail), true);
    const resetMail = await sink.waitForMail(newEmail, { match: (m) => /reset/i.test(m.subject) });
    const { token, link } = codeAndLink(resetMail);
    assert.ok(link?.startsWith("http://app.test/reset-password?token="), link);
    assert.equal(await client.resetPassword({ token: token!, newPassword: "reset passphrase number 3" }), true);
    await rejectsWith(client.sessions(), ["UNAUTHENTICATED"]); // every session ended, this one too
    assert.equal(client.tokens, null);
    await client.signIn({ email: newEmail, password: "reset passphrase number 3" });

    // The security log: the reset and the sign-in after it, newest first.
    const log = await client.securityEvents({ first: 2, types: ["PASSWORD_RESET", "SIGNED_IN"] });
    assert.deepEqual(
      log.edges.map((edge) => edge.node.type),
      ["SIGNED_IN", "PASSWORD_RESET"],
    );

    // Two-factor authentication: this server has no encryption key, so it is off and says so
    // (test/mfa.test.ts runs a server that has one).
    assert.equal(config.totp, false);
    await rejectsWith(client.startTotpEnrollment(), ["FORBIDDEN"]);
    await rejectsWith(client.confirmTotpEnrollment("123456"), ["FORBIDDEN"]);
    // Nothing to turn off or renew on an account without it.
    await rejectsWith(client.regenerateRecoveryCodes("123456"), ["NOT_FOUND"]);
    await rejectsWith(client.disableTotp("123456"), ["NOT_FOUND"]);
    await rejectsWith(client.verifyMfa({ mfaToken: "not a token", totpCode: "123456" }), ["INVALID_TOKEN"]);

    // Passkeys: the ceremonies' GraphQL halves (Node has no WebAuthn, so registerPasskey and
    // signInWithPasskey refuse before sending; test/passkeys.test.ts runs them with a software
    // authenticator, examples/web in Chromium).
    assert.equal(config.passkeys, true);
    const registration = (await client.request(api.StartPasskeyRegistrationDocument)).startPasskeyRegistration;
    assert.equal((registration.options.rp as { id?: unknown }).id, "app.test");
    assert.equal(typeof registration.options.challenge, "string");
    await rejectsWith(
      client.request(api.FinishPasskeyRegistrationDocument, {
        input: { ceremonyId: registration.ceremonyId, credential: { id: "not a credential" } },
      }),
      ["BAD_USER_INPUT"],
    );
    const signIn = (await client.request(api.StartPasskeySignInDocument, { email: newEmail }, { anonymous: true }))
      .startPasskeySignIn;
    assert.equal(signIn.options.rpId, "app.test");
    await rejectsWith(
      client.request(
        api.FinishPasskeySignInDocument,
        { input: { ceremonyId: "not a ceremony", credential: {} } },
        { anonymous: true },
      ),
      ["INVALID_TOKEN", "BAD_USER_INPUT"],
    );
    assert.deepEqual(await client.passkeys(), []);
    const noSuchPasskey = "00000000-0000-7000-8000-000000000000";
    await rejectsWith(client.renamePasskey(noSuchPasskey, "Phone"), ["NOT_FOUND"]);
    await rejectsWith(client.deletePasskey(noSuchPasskey), ["NOT_FOUND"]);

    // OAuth: no provider is configured on this server.
    await rejectsWith(client.startOAuth("github", "http://app.test/oauth/callback"), ["BAD_USER_INPUT", "NOT_FOUND"]);
    await rejectsWith(client.completeOAuth({ provider: "github", code: "x", state: "y" }), [
      "BAD_USER_INPUT",
      "NOT_FOUND",
      "INVALID_TOKEN",
    ]);
    await rejectsWith(client.unlinkAccount("github"), ["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT"]);

    // Deleting the account ends it, and the address is free again.
    assert.equal(await client.deleteAccount({ password: "reset passphrase number 3" }), true);
    assert.equal(client.tokens, null);
    await new TodoqlClient({ url: server.graphqlUrl, fetch: recorder.fetch }).signUp({ email: newEmail, password: PASSWORD });

    // Every operation of the package went to the server at least once.
    assert.deepEqual(allOperationNames(), operationsInSource(), "every operation is exported as a document");
    const sent = new Set(recorder.operations);
    assert.deepEqual(
      allOperationNames().filter((name) => !sent.has(name)),
      [],
      "operations never sent",
    );
  });
});
