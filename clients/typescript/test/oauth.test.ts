// OAuth through the client against a real server and a fake GitHub: the client binds each flow
// to the browser that started it (a verifier kept by state, only its S256 challenge sent), so
// a callback URL made in another browser signs no one in.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { TodoqlClient, TodoqlError, type StorageLike } from "../dist/index.js";
import { recordingFetch, signedIn, startTodoql, type TodoqlServer } from "./helpers.js";
import { startFakeGitHub, type FakeGitHub } from "./fake-github.js";

const CALLBACK = "http://app.test/oauth/callback";

/** A browser's sessionStorage, for looking inside. */
function fakeSessionStorage(): StorageLike & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** The callback URL's parameters, as the app's callback page reads them. */
function callback(url: URL): { code: string; state: string } {
  assert.equal(`${url.origin}${url.pathname}`, CALLBACK);
  return { code: url.searchParams.get("code")!, state: url.searchParams.get("state")! };
}

describe("OAuth through the client", () => {
  let github: FakeGitHub;
  let server: TodoqlServer;
  before(async () => {
    github = await startFakeGitHub();
    server = await startTodoql({
      args: [
        "--encryption-key", randomBytes(32).toString("hex"),
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

  it("startOAuth keeps a verifier that only its challenge leaves, and completeOAuth signs in with it", async () => {
    const storage = fakeSessionStorage();
    const recorder = recordingFetch();
    const sent: string[] = [];
    const client = new TodoqlClient({
      url: server.graphqlUrl,
      oauthVerifierStorage: storage,
      fetch: (input, init) => {
        sent.push(String(init?.body));
        return recorder.fetch(input, init);
      },
    });

    const started = await client.startOAuth("github", CALLBACK);
    assert.equal(storage.items.size, 1);
    const [key, verifier] = [...storage.items][0]!;
    assert.equal(key, `todoql.oauth.verifier.${started.state}`);
    assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
    const variables = JSON.parse(sent[0]!).variables as { codeChallenge: string };
    assert.equal(variables.codeChallenge, s256(verifier));
    assert.ok(!sent[0]!.includes(verifier), "the verifier never leaves the browser before completeOAuth");
    assert.ok(!started.authorizationUrl.includes(verifier) && !started.authorizationUrl.includes(variables.codeChallenge));

    github.signIn({ id: 4242, email: "ada@github.example" });
    const { code, state } = callback(await github.authorize(started.authorizationUrl));
    const result = await client.completeOAuth({ provider: "github", code, state });

    assert.equal(signedIn(result).user.email, "ada@github.example");
    assert.equal(client.isSignedIn, true);
    assert.equal(storage.items.size, 0, "the verifier is forgotten once used");
    assert.equal(JSON.parse(sent.at(-1)!).variables.input.codeVerifier, verifier);
    const me = await client.me();
    assert.deepEqual(me?.linkedAccounts.map((a) => [a.provider, a.accountId]), [["github", "4242"]]);
  });

  it("a callback URL from another browser signs no one in, and the flow cannot be finished afterwards", async () => {
    const attacker = new TodoqlClient({ url: server.graphqlUrl, oauthVerifierStorage: fakeSessionStorage() });
    const victim = new TodoqlClient({ url: server.graphqlUrl, oauthVerifierStorage: fakeSessionStorage() });
    const before = github.tokenRequests();

    // The attacker starts, signs in at the provider with their own account, and sends the
    // callback URL to the victim instead of opening it.
    const started = await attacker.startOAuth("github", CALLBACK);
    github.signIn({ id: 666, email: "attacker@github.example" });
    const { code, state } = callback(await github.authorize(started.authorizationUrl));

    await assert.rejects(victim.completeOAuth({ provider: "github", code, state }), (error) => {
      assert.ok(error instanceof TodoqlError);
      assert.equal(error.code, "INVALID_TOKEN");
      return true;
    });
    assert.equal(victim.tokens, null, "the victim is not signed in to the attacker's account");
    // One state, one try: even the browser that started it cannot finish it now.
    await assert.rejects(attacker.completeOAuth({ provider: "github", code, state }), (error) => {
      assert.ok(error instanceof TodoqlError && error.code === "INVALID_TOKEN");
      return true;
    });
    assert.equal(github.tokenRequests(), before, "the provider was never asked for tokens");
  });

  it("links a provider to a signed-in user from the same browser", async () => {
    const client = new TodoqlClient({ url: server.graphqlUrl, oauthVerifierStorage: fakeSessionStorage() });
    await client.signUp({ email: `linker-${process.pid}@example.com`, password: "correct horse battery staple" });

    const started = await client.startOAuth("github", CALLBACK);
    github.signIn({ id: 5151, email: "linker@github.example" });
    const { code, state } = callback(await github.authorize(started.authorizationUrl));
    const linked = signedIn(await client.completeOAuth({ provider: "github", code, state }));

    assert.equal(linked.user.email, `linker-${process.pid}@example.com`);
    assert.deepEqual(linked.user.linkedAccounts.map((a) => a.accountId), ["5151"]);
  });

  it("uses sessionStorage by default", async () => {
    const storage = fakeSessionStorage();
    const global = globalThis as { sessionStorage?: StorageLike };
    global.sessionStorage = storage;
    try {
      const client = new TodoqlClient({ url: server.graphqlUrl });
      const started = await client.startOAuth("github", CALLBACK);
      assert.ok(storage.items.has(`todoql.oauth.verifier.${started.state}`));
    } finally {
      delete global.sessionStorage;
    }
  });
});
