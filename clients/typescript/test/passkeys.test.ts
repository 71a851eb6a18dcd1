// Passkeys through the client against a real server. Without WebAuthn (Node), the ceremony
// helpers refuse before sending anything. With the software authenticator standing in for the
// browser's WebAuthn API, the client's side of the ceremonies: tokens kept and SIGNED_IN told
// like every sign-in, the session's PASSKEY method, the list, rename, delete, and the server's
// refusals as TodoqlErrors (among them deleting the last way to sign in: CONFLICT). The real
// browser runs in examples/web/tests (Chromium's virtual authenticator).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  PasskeysUnsupportedError,
  TodoqlClient,
  TodoqlError,
  passkeysSupported,
  type AuthEvent,
} from "../dist/index.js";
import {
  PASSWORD,
  encryptionKeyArgs,
  recordingClient,
  signedIn,
  startTodoql,
  uniqueEmail,
  type TodoqlServer,
} from "./helpers.js";
import { installWebAuthn, SoftAuthenticator } from "./soft-authenticator.js";
import { startFakeGitHub, type FakeGitHub } from "./fake-github.js";

const APP = "http://app.test";
const CALLBACK = `${APP}/oauth/callback`;

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<TodoqlError> {
  let caught: TodoqlError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TodoqlError, String(error));
    assert.equal(error.code, code, error.message);
    caught = error;
    return true;
  });
  return caught!;
}

describe("passkeys through the client", () => {
  let server: TodoqlServer;
  let github: FakeGitHub;
  before(async () => {
    github = await startFakeGitHub();
    server = await startTodoql({
      args: [
        "--app-url", APP,
        // OAuth (the last test's account) needs a key for the providers' tokens.
        ...encryptionKeyArgs(),
        "--oauth-redirect-uris", CALLBACK,
        "--oauth-github-client-id", github.clientId,
        "--oauth-github-client-secret", github.clientSecret,
        "--oauth-github-auth-url", `${github.baseUrl}/login/oauth/authorize`,
        "--oauth-github-token-url", `${github.baseUrl}/login/oauth/access_token`,
        "--oauth-github-api-url", github.baseUrl,
      ],
    });
  });
  after(async () => {
    await server?.stop();
    await github?.stop();
  });

  describe("without WebAuthn (Node has none)", () => {
    it("registerPasskey and signInWithPasskey throw PasskeysUnsupportedError and send nothing", async () => {
      assert.equal(passkeysSupported(), false);
      const { client, operations } = recordingClient(server.graphqlUrl);
      await client.signUp({ email: uniqueEmail("nowebauthn"), password: PASSWORD });
      operations.length = 0;

      await assert.rejects(client.registerPasskey(), PasskeysUnsupportedError);
      await assert.rejects(client.signInWithPasskey({ email: "a@example.com" }), (error: unknown) => {
        assert.ok(error instanceof PasskeysUnsupportedError);
        assert.match(error.message, /PublicKeyCredential/);
        return true;
      });
      assert.deepEqual(operations, []);
    });

    it("a browser without the JSON helpers is told which one it lacks", async () => {
      const global = globalThis as Record<string, unknown>;
      // An older browser: WebAuthn, but no parse*FromJSON.
      global.PublicKeyCredential = class {};
      try {
        assert.equal(passkeysSupported(), false);
        await assert.rejects(new TodoqlClient({ url: server.graphqlUrl }).signInWithPasskey(), (error: unknown) => {
          assert.ok(error instanceof PasskeysUnsupportedError);
          assert.match(error.message, /parseCreationOptionsFromJSON/);
          return true;
        });
      } finally {
        delete global.PublicKeyCredential;
      }
    });

    it("the list, its absence signed out, and the server's offer", async () => {
      const client = new TodoqlClient({ url: server.graphqlUrl });
      assert.equal((await client.authConfig()).passkeys, true);
      await rejectsWithCode(client.passkeys(), "UNAUTHENTICATED");
      const payload = await client.signUp({ email: uniqueEmail("nolist"), password: PASSWORD });
      assert.deepEqual(payload.user.passkeys, []);
      assert.deepEqual(await client.passkeys(), []);
      await rejectsWithCode(client.renamePasskey("00000000-0000-7000-8000-000000000000", "x"), "NOT_FOUND");
    });
  });

  describe("with a software authenticator in place of the browser's", () => {
    let device: SoftAuthenticator;
    let uninstall: () => void;
    before(() => {
      device = new SoftAuthenticator(APP);
      uninstall = installWebAuthn(device);
    });
    after(() => uninstall?.());

    it("registers, then signs in with the address and without: tokens kept, SIGNED_IN told, PASSKEY", async () => {
      assert.equal(passkeysSupported(), true);
      const email = uniqueEmail("passkey");
      const owner = new TodoqlClient({ url: server.graphqlUrl });
      await owner.signUp({ email, password: PASSWORD });

      const added = await owner.registerPasskey({ name: "  Phone " });
      assert.equal(added.name, "Phone");
      assert.equal(added.lastUsedAt, null);
      assert.equal(device.size, 1);
      assert.deepEqual((await owner.passkeys()).map((p) => p.id), [added.id]);
      assert.deepEqual((await owner.me())?.passkeys.map((p) => p.name), ["Phone"]);
      // Unnamed: the server names it.
      const second = new SoftAuthenticator(APP);
      const restore = installWebAuthn(second);
      try {
        assert.equal((await owner.registerPasskey()).name, "Passkey 2");
      } finally {
        restore();
      }

      for (const typed of [email, "", undefined]) {
        const { client, operations } = recordingClient(server.graphqlUrl);
        const events: AuthEvent[] = [];
        client.onAuthStateChange((event) => events.push(event));

        const result = await client.signInWithPasskey({ email: typed });

        assert.equal(result.kind, "SIGNED_IN");
        const payload = signedIn(result);
        assert.equal(payload.user.email, email);
        assert.deepEqual(payload.session.authenticationMethods, ["PASSKEY"]);
        assert.deepEqual(events, ["SIGNED_IN"]);
        assert.equal(client.tokens?.refreshToken, payload.refreshToken);
        assert.deepEqual(operations, ["StartPasskeySignIn", "FinishPasskeySignIn"]);
        const current = (await client.sessions()).find((s) => s.current);
        assert.deepEqual(current?.authenticationMethods, ["PASSKEY"]);
        await client.signOut();
      }
      const [phone] = await owner.passkeys();
      assert.ok(phone?.lastUsedAt, "lastUsedAt is set by the sign-ins");
    });

    it("renames and deletes; another user's passkey is NOT_FOUND; a deleted passkey signs in no one", async () => {
      const email = uniqueEmail("manage");
      const owner = new TodoqlClient({ url: server.graphqlUrl });
      await owner.signUp({ email, password: PASSWORD });
      const mine = new SoftAuthenticator(APP);
      const restore = installWebAuthn(mine);
      try {
        const added = await owner.registerPasskey();
        const other = new TodoqlClient({ url: server.graphqlUrl });
        await other.signUp({ email: uniqueEmail("other"), password: PASSWORD });
        await rejectsWithCode(other.renamePasskey(added.id, "mine now"), "NOT_FOUND");
        await rejectsWithCode(other.deletePasskey(added.id), "NOT_FOUND");

        assert.equal((await owner.renamePasskey(added.id, "Work laptop")).name, "Work laptop");
        await rejectsWithCode(owner.renamePasskey(added.id, "   "), "BAD_USER_INPUT");
        assert.equal(await owner.deletePasskey(added.id), true);
        assert.deepEqual(await owner.passkeys(), []);

        // The authenticator still holds it and offers it (discoverable); the server refuses it.
        const client = new TodoqlClient({ url: server.graphqlUrl });
        await rejectsWithCode(client.signInWithPasskey(), "INVALID_TOKEN");
        assert.equal(client.isSignedIn, false);
      } finally {
        restore();
      }
    });

    it("deleting the last way to sign in is CONFLICT", async () => {
      // A GitHub sign-up whose address GitHub does not vouch for: no password, no proven
      // address. With a passkey added, the provider may go; then the passkey may not.
      github.signIn({ id: 4242, email: uniqueEmail("nopassword"), verified: false });
      const client = new TodoqlClient({ url: server.graphqlUrl });
      const started = await client.startOAuth("github", CALLBACK);
      const back = await github.authorize(started.authorizationUrl);
      const payload = signedIn(
        await client.completeOAuth({ provider: "github", code: back.searchParams.get("code")!, state: back.searchParams.get("state")! }),
      );
      assert.equal(payload.user.hasPassword, false);
      assert.equal(payload.user.emailVerified, false);
      const restore = installWebAuthn(new SoftAuthenticator(APP));
      try {
        const added = await client.registerPasskey({ name: "Only key" });
        assert.equal(await client.unlinkAccount("github"), true);

        const refused = await rejectsWithCode(client.deletePasskey(added.id), "CONFLICT");
        assert.match(refused.message, /only way to sign in/);
        assert.deepEqual((await client.passkeys()).map((p) => p.name), ["Only key"]);
      } finally {
        restore();
      }
    });
  });
});
