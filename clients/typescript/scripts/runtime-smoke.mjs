// The built client (dist/) against a real server, with nothing but Node itself: no test runner,
// no dev dependency but `ws` (Node 20 has no global WebSocket: an app on Node passes one, as
// here). run-tests.sh runs it on the lowest Node that package.json's `engines` claims, to keep
// that claim true: fetch, BroadcastChannel, graphql's print, graphql-ws and the ES2022 output all
// have to work there.
//
//   node scripts/runtime-smoke.mjs          (after `npm run build` and `cargo build -p todoql-server`)
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { startTodoql } from "../../test-support/server.mjs";
import {
  AuthConfigDocument,
  SignUpDocument,
  TodoqlClient,
  TodoqlError,
  documentText,
  localStorageTokenStore,
} from "../dist/index.js";

const PASSWORD = "correct horse battery staple";
const email = `smoke-${process.pid}-${Date.now()}@example.com`;
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n${error?.stack ?? error}`);
  }
}

function sharedStorage() {
  const items = new Map();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

const server = await startTodoql();
// Live changes need a todo list, so an account that may have one without verifying its address.
const liveServer = await startTodoql({ args: ["--require-verified-email", "false"] });
const storage = sharedStorage();
const store = () => localStorageTokenStore(`smoke-${process.pid}`, storage, { sharedByTabs: true });
const tab = new TodoqlClient({ url: server.graphqlUrl, tokenStore: store() });
const otherTab = new TodoqlClient({ url: server.graphqlUrl, tokenStore: store() });
const heard = [];
otherTab.onAuthStateChange((event, _tokens, { fromOtherTab }) => heard.push(`${fromOtherTab ? "other:" : ""}${event}`));
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

try {
  await check("a generated document prints to GraphQL text", () => {
    assert.match(documentText(SignUpDocument), /^mutation SignUp\(\$input: SignUpInput!\)/);
  });
  await check("a query (authConfig) and a mutation (signUp) through fetch", async () => {
    const config = await tab.request(AuthConfigDocument, {}, { anonymous: true });
    assert.equal(config.authConfig.passwordSignIn, true);
    const payload = await tab.signUp({ email, password: PASSWORD });
    assert.equal(payload.user.email, email);
    assert.equal((await tab.me())?.email, email);
  });
  await check("a typed error code", async () => {
    await assert.rejects(tab.todos(), (error) => error instanceof TodoqlError && error.code === "EMAIL_NOT_VERIFIED");
  });
  await check("refresh, and the other tab hears sign-in and refresh over BroadcastChannel", async () => {
    const before = tab.tokens.refreshToken;
    const refreshed = await tab.refresh();
    await settle();
    assert.notEqual(refreshed.refreshToken, before);
    assert.deepEqual(heard, ["other:SIGNED_IN", "other:TOKEN_REFRESHED"]);
    assert.equal((await otherTab.me())?.email, email);
  });
  await check("sign-out reaches the other tab", async () => {
    await tab.signOut();
    await settle();
    assert.deepEqual(heard.slice(2), ["other:SIGNED_OUT"]);
    assert.equal(otherTab.isSignedIn, false);
  });
  await check("live changes over graphql-ws: another client's change arrives", async () => {
    const phone = new TodoqlClient({ url: liveServer.graphqlUrl, webSocketImpl: WebSocket });
    const laptop = new TodoqlClient({ url: liveServer.graphqlUrl });
    await phone.signUp({ email: `live-${email}`, password: PASSWORD });
    await laptop.signIn({ email: `live-${email}`, password: PASSWORD });
    const since = (await phone.todos()).revision;
    const change = await new Promise((resolve, reject) => {
      const live = phone.subscribeToTodoChanges({ since }, (event) => {
        if (event.type === "CONNECTED") laptop.createTodo({ title: "from the laptop" }).catch(reject);
        if (event.type === "CHANGE") {
          live.unsubscribe();
          resolve(event.change);
        }
        if (event.type === "ERROR" || event.type === "RESYNC_REQUIRED") reject(event.error);
      });
      setTimeout(() => reject(new Error("no change within 10 s")), 10_000).unref();
    });
    assert.equal(change.kind, "CREATED");
    assert.equal(change.revision, since + 1);
    assert.equal(change.todo.title, "from the laptop");
  });
} finally {
  tab.close();
  otherTab.close();
  await Promise.all([server.stop(), liveServer.stop()]);
}

console.log(`runtime smoke on Node ${process.version}: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
