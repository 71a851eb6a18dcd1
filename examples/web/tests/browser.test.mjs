// The example app and GraphiQL in a real browser (Debian's chromium, headless, driven by
// playwright-core) against a real todoql server whose mail goes to a real SMTP sink.
// Screenshots of the key screens go to examples/web/test-results/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build, preview } from "vite";
import { TodoqlClient, TodoqlError } from "@todoql/client";
import { encryptionKeyArgs, startTodoql } from "../../../clients/test-support/server.mjs";
import { codeAndLink, startSmtpSink } from "../../../clients/test-support/smtp-sink.mjs";
import { totpCode, totpStep } from "../../../clients/test-support/totp.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const results = path.join(root, "test-results");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase 42";
const TIMEOUT = 180_000;
const TOKEN_TTL = 10;
const TOKENS_KEY = "todoql.example.tokens";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A UUID's 16 bytes in base64url: the WebAuthn user handle the server gives its users. */
const uuidBase64Url = (uuid) => Buffer.from(uuid.replace(/-/g, ""), "hex").toString("base64url");

const isLocal = (url) => {
  const { protocol, hostname } = new URL(url);
  return protocol === "data:" || protocol === "blob:" || hostname === "127.0.0.1" || hostname === "localhost";
};

describe("in a real browser", { timeout: TIMEOUT }, () => {
  let sink;
  let server;
  let site;
  let context;
  let page;
  let origin;
  let profile;
  /** Requests the pages tried to send off this machine (all refused). */
  const offHost = [];
  /** The WebSockets the pages opened to this machine (let through). */
  const localSockets = [];
  const email = `ada-${Date.now()}@example.com`;

  const shot = (name) => page.screenshot({ path: path.join(results, `${name}.png`), fullPage: true });
  const todoList = () => page.getByRole("list", { name: "Todos" });
  const trashList = () => page.getByRole("list", { name: "Recently deleted" });
  const titles = async () => (await todoList().locator("li .title").allTextContents()).map((t) => t.trim());
  /** Waits until `fn` (run in the test) returns true. */
  async function eventually(fn, what, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await fn()) return;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (clients/run-tests.sh does)`);
    rmSync(results, { recursive: true, force: true });
    mkdirSync(results, { recursive: true });

    sink = await startSmtpSink();
    const port = await freePort();
    // The app's origin is also the server's app URL, whose host is the passkeys' relying party:
    // WebAuthn takes a domain there, not an IP address, so the app is opened as localhost.
    origin = `http://localhost:${port}`;
    server = await startTodoql({
      // Access tokens of 10 s: the app refreshes them (5 s before expiry) during the tests. An
      // encryption key, so that two-factor authentication is on offer.
      args: [
        "--smtp-url", sink.url,
        "--cors-origins", origin,
        "--app-url", origin,
        "--access-token-ttl", String(TOKEN_TTL),
        ...encryptionKeyArgs(),
      ],
    });

    // The app, built against this server and served by `vite preview`.
    process.env.VITE_TODOQL_URL = server.graphqlUrl;
    const outDir = path.join(results, "dist");
    await build({ root, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    site = await preview({
      root,
      logLevel: "warn",
      build: { outDir },
      preview: { host: "127.0.0.1", port, strictPort: true, open: false },
    });

    profile = mkdtempSync(path.join(tmpdir(), "todoql-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    // No network but this machine: anything else is refused and remembered. context.route()
    // sees HTTP only; WebSockets have their own rule: those to this machine (the todo list's
    // live changes, ws://127.0.0.1:PORT/graphql) go through to the server, others are closed.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      offHost.push(url);
      return route.abort("internetdisconnected");
    });
    await context.routeWebSocket(/.*/, (ws) => {
      const { hostname } = new URL(ws.url());
      if (hostname === "127.0.0.1" || hostname === "localhost") {
        localSockets.push(ws.url());
        return ws.connectToServer();
      }
      offHost.push(ws.url());
      return ws.close({ code: 1008, reason: "off this machine" });
    });
    context.setDefaultTimeout(20_000);
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    await context?.close();
    await site?.close();
    await server?.stop();
    await sink?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("a new user signs up, verifies with the mailed code, and manages todos", async () => {
    await page.goto(`${origin}/sign-up`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Name (optional)").fill("Ada");
    await page.getByLabel("Password").fill(PASSWORD);
    await shot("01-sign-up");
    await page.getByRole("button", { name: "Create account" }).click();

    await page.getByRole("heading", { name: "Verify your email" }).waitFor();
    const mail = await sink.waitForMail(email, { match: (m) => /verify your email/i.test(m.subject) });
    const { code, link } = codeAndLink(mail);
    assert.match(code ?? "", /^\d{6}$/);
    assert.ok(link?.startsWith(`${origin}/verify-email?token=`), link);
    await page.getByLabel("Code").fill(code);
    await shot("02-verify-email");
    await page.getByRole("button", { name: "Verify" }).click();

    await page.getByRole("heading", { name: "Your todos" }).waitFor();
    for (const title of ["Buy milk", "Write the report", "Call Grace"]) {
      await page.getByLabel("New todo").fill(title);
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await todoList().getByText(title, { exact: true }).waitFor();
    }
    await page.getByLabel("Complete Buy milk").check();
    await todoList().locator("li.done", { hasText: "Buy milk" }).waitFor();
    await page.getByRole("button", { name: "Delete Write the report" }).click();
    await trashList().getByText("Write the report").waitFor();
    await eventually(async () => !(await titles()).includes("Write the report"), "the deleted todo to leave the list");
    await shot("03-todos-with-trash");

    await page.getByRole("button", { name: "Restore Write the report" }).click();
    await todoList().getByText("Write the report", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Edit Call Grace" }).click();
    await page.getByLabel("New title for Call Grace").fill("Call Grace on Sunday");
    await page.getByRole("button", { name: "Save" }).click();
    await todoList().getByText("Call Grace on Sunday", { exact: true }).waitFor();
    await shot("04-todos");

    assert.deepEqual(await titles(), ["Buy milk", "Write the report", "Call Grace on Sunday"]);
    assert.deepEqual(
      (await todoList().locator("li.done .title").allTextContents()).map((t) => t.trim()),
      ["Buy milk"],
    );
    assert.equal(await trashList().locator("li").count(), 0);
    // What the page shows is what the server holds.
    const api = new TodoqlClient({ url: server.graphqlUrl });
    await api.signIn({ email, password: PASSWORD });
    const todos = await api.todos({ orderBy: { field: "CREATED_AT", direction: "ASC" } });
    assert.deepEqual(
      todos.edges.map((e) => [e.node.title, e.node.isCompleted]),
      [
        ["Buy milk", true],
        ["Write the report", false],
        ["Call Grace on Sunday", false],
      ],
    );
    assert.equal((await api.deletedTodos()).totalCount, 0);
    await api.signOut();
  });

  it("a second page of the same user shows changes live: create, complete, delete, without a reload", async () => {
    // `page` shows the list (previous test). The second page opens it too, then only watches.
    const other = await context.newPage();
    const otherList = () => other.getByRole("list", { name: "Todos" });
    const otherTrash = () => other.getByRole("list", { name: "Recently deleted" });
    try {
      await other.goto(`${origin}/todos`);
      await otherList().getByText("Call Grace on Sunday", { exact: true }).waitFor();
      // Reloads would clear this mark, and a navigation would be counted.
      await other.evaluate(() => (window.__noReload = true));
      let navigations = 0;
      other.on("framenavigated", (frame) => {
        if (frame === other.mainFrame()) navigations += 1;
      });
      await other.locator('[data-live="connected"]').waitFor();
      await page.goto(`${origin}/todos`);
      await page.locator('[data-live="connected"]').waitFor();

      await page.getByLabel("New todo").fill("Water the plants");
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await otherList().getByText("Water the plants", { exact: true }).waitFor();
      await other.getByText("4 todos").waitFor();

      await page.getByLabel("Complete Water the plants").check();
      await otherList().locator("li.done", { hasText: "Water the plants" }).waitFor();
      await other.screenshot({ path: path.join(results, "30-live-completed-in-other-page.png"), fullPage: true });

      await page.getByRole("button", { name: "Delete Water the plants" }).click();
      await otherTrash().getByText("Water the plants").waitFor();
      await eventually(
        async () => !(await otherList().locator("li .title").allTextContents()).some((t) => t.trim() === "Water the plants"),
        "the deleted todo to leave the other page's list",
      );
      await other.getByText("3 todos").waitFor();

      // And the other way round: restored in the second page, back in the first.
      await other.getByRole("button", { name: "Restore Water the plants" }).click();
      await todoList().getByText("Water the plants", { exact: true }).waitFor();
      await page.getByRole("button", { name: "Delete Water the plants" }).click();
      await otherTrash().getByText("Water the plants").waitFor();

      // Both pages end with what the server holds (the trash entry may show before the row goes).
      const expected = JSON.stringify(["Buy milk", "Write the report", "Call Grace on Sunday"]);
      const shown = async (list) => JSON.stringify((await list.locator("li .title").allTextContents()).map((t) => t.trim()));
      await eventually(async () => (await shown(otherList())) === expected, "the second page's list after the last delete");
      await eventually(async () => (await shown(todoList())) === expected, "the first page's list after the last delete");
      // The pages' sockets outlive their access token (10 s): the server closes them with 4403,
      // the client refreshes (one refresh for both tabs) and reconnects from the last revision.
      const socketsBefore = localSockets.length;
      await other.waitForTimeout((TOKEN_TTL + 2) * 1000);
      await eventually(async () => localSockets.length >= socketsBefore + 2, "both pages to reconnect after 4403");
      await page.getByLabel("New todo").fill("After the token expired");
      await page.getByRole("button", { name: "Add", exact: true }).click();
      await otherList().getByText("After the token expired", { exact: true }).waitFor();
      await other.getByRole("button", { name: "Delete After the token expired" }).click();
      await eventually(async () => (await shown(todoList())) === expected, "the first page's list after the other's delete");
      await eventually(async () => (await shown(otherList())) === expected, "the second page's list after its delete");
      assert.equal(await other.evaluate(() => window.__noReload), true);
      assert.equal(navigations, 0);
    } finally {
      await other.close();
    }
  });

  it("sessions are listed and another device's is revoked", async () => {
    const otherDevice = new TodoqlClient({ url: server.graphqlUrl });
    await otherDevice.signIn({ email, password: PASSWORD });

    await page.goto(`${origin}/sessions`);
    await page.getByRole("heading", { name: "Your sessions" }).waitFor();
    const sessions = page.getByRole("list", { name: "Sessions" }).locator("li");
    await eventually(async () => (await sessions.count()) === 2, "two sessions");
    await shot("05-sessions");
    await page.locator('li[data-current="false"]').getByRole("button", { name: "Revoke" }).click();
    await page.getByText("Session revoked.").waitFor();

    assert.equal(await sessions.count(), 1);
    assert.equal(await page.locator('li[data-current="true"]').count(), 1);
    await assert.rejects(otherDevice.sessions(), (e) => e instanceof TodoqlError && e.code === "UNAUTHENTICATED");
  });

  it("signs in with an emailed code, and resets a forgotten password from the mailed link", async () => {
    await page.getByRole("button", { name: "Sign out" }).first().click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByRole("link", { name: "Sign in with an emailed code" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Email me a code" }).click();
    const codeMail = await sink.waitForMail(email, { match: (m) => /sign-in code/i.test(m.subject) });
    await page.getByLabel("Code").fill(codeAndLink(codeMail).code);
    await shot("06-sign-in-with-code");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Your todos" }).waitFor();
    await todoList().getByText("Call Grace on Sunday").waitFor();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Email me a link" }).click();
    await page.getByRole("heading", { name: "Check your mail" }).waitFor();
    const resetMail = await sink.waitForMail(email, { match: (m) => /reset your todoql password/i.test(m.subject) });
    const { link } = codeAndLink(resetMail);
    assert.ok(link?.startsWith(`${origin}/reset-password?token=`), link);
    await page.goto(link);
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await shot("07-reset-password");
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByText("Your password is changed").waitFor();

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("Wrong email or password.").waitFor();
    await page.getByLabel("Password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Your todos" }).waitFor();
    await todoList().getByText("Call Grace on Sunday").waitFor();
    assert.deepEqual(await titles(), ["Buy milk", "Write the report", "Call Grace on Sunday"]);
  });

  it("a second tab follows the first: sign-out, sign-in, and the first tab's refresh", async () => {
    // The first tab is signed in (previous test). Every refreshSession, by tab and token spent.
    const refreshes = [];
    const second = await context.newPage();
    const onRequest = (request) => {
      if (request.method() !== "POST" || !request.url().startsWith(server.graphqlUrl)) return;
      const body = JSON.parse(request.postData() ?? "{}");
      if (body.operationName === "RefreshSession") {
        refreshes.push({ tab: request.frame().page() === page ? "first" : "second", token: body.variables.refreshToken });
      }
    };
    context.on("request", onRequest);
    const stored = () => second.evaluate((key) => localStorage.getItem(key), TOKENS_KEY);
    try {
      await second.goto(`${origin}/todos`);
      await second.getByRole("heading", { name: "Your todos" }).waitFor();

      await second.getByRole("button", { name: "Sign out" }).click();
      await page.getByText("You signed out in another tab.").waitFor();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await shot("10-signed-out-in-another-tab");

      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByRole("heading", { name: "Your todos" }).waitFor();
      await second.getByText("You signed in in another tab.").waitFor();
      await second.getByRole("heading", { name: "Your todos" }).waitFor();
      await second.screenshot({ path: path.join(results, "11-signed-in-in-another-tab.png"), fullPage: true });

      // Once the access token is within 5 s of expiry, the first tab refreshes before its next
      // call; the second tab sees the new tokens and calls with them, without a refresh.
      const beforeRefresh = await stored();
      const refreshesBefore = refreshes.length;
      await page.waitForTimeout((TOKEN_TTL / 2) * 1000 + 500);
      await page.reload();
      await todoList().getByText("Call Grace on Sunday").waitFor();
      await eventually(async () => (await stored()) !== beforeRefresh, "the second tab to see the refreshed tokens");
      const refreshesByFirst = refreshes.slice(refreshesBefore);
      await second.reload();
      await second.getByRole("list", { name: "Todos" }).getByText("Call Grace on Sunday").waitFor();

      const refreshesAfterSecondCall = refreshes.slice(refreshesBefore + refreshesByFirst.length);

      // Both tabs call at once with a token near expiry: they take turns under a Web Lock, and
      // the tab that waited uses the tokens the other one got.
      await page.waitForTimeout((TOKEN_TTL / 2) * 1000 + 500);
      const roundStart = refreshes.length;
      await Promise.all([page.reload(), second.reload()]);
      await todoList().getByText("Call Grace on Sunday").waitFor();
      await second.getByRole("list", { name: "Todos" }).getByText("Call Grace on Sunday").waitFor();
      const concurrentRound = refreshes.slice(roundStart);

      assert.ok(refreshesByFirst.some((r) => r.tab === "first"), JSON.stringify(refreshesByFirst));
      assert.deepEqual(refreshesAfterSecondCall, [], "the second tab refreshed again");
      assert.equal(concurrentRound.length, 1, JSON.stringify(concurrentRound));
      // No refresh token was ever spent twice, by one tab or by both.
      const spent = refreshes.map((r) => r.token);
      assert.equal(new Set(spent).size, spent.length, JSON.stringify(refreshes));
    } finally {
      context.off("request", onRequest);
      await second.close();
    }
  });

  it("the security log lists the sign-up, a failed sign-in and the sign-in, and loads more", async () => {
    const owner = `grace-${Date.now()}@example.com`;
    const log = page.getByRole("list", { name: "Security events" });
    const events = log.locator("li");
    const shownTypes = () => events.evaluateAll((items) => items.map((item) => item.dataset.eventType));
    const row = (type) => log.locator(`li[data-event-type="${type}"]`);

    // Sign up (this test runs alone too: it needs no state of the others), sign out, a wrong
    // password, then the right one.
    await page.goto(`${origin}/sign-up`);
    await page.getByLabel("Email").fill(owner);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Verify your email" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("Email").fill(owner);
    await page.getByLabel("Password").fill("not my password at all");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("Wrong email or password.").waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Verify your email" }).waitFor();

    // The log is readable before the address is verified, from the signed-in navigation.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security" }).click();
    await page.getByRole("heading", { name: "Security log" }).waitFor();
    // The failed sign-in is written just after its answer: reload until it is there.
    await eventually(async () => {
      if ((await row("SIGN_IN_FAILED").count()) === 1) return true;
      await page.reload();
      await page.getByRole("heading", { name: "Security log" }).waitFor();
      return false;
    }, "the failed sign-in in the log");
    await shot("12-security-log");

    assert.deepEqual(await shownTypes(), ["SIGNED_IN", "SIGN_IN_FAILED", "SIGNED_OUT", "SIGNED_IN", "SIGNED_UP"]);
    assert.match(await row("SIGNED_UP").innerText(), /Account created with password/);
    assert.match(await row("SIGN_IN_FAILED").innerText(), /Failed sign-in with password/);
    assert.match(await row("SIGNED_IN").first().innerText(), /Signed in with password/);
    assert.match(await row("SIGNED_OUT").innerText(), /Signed out/);
    const userAgent = await page.evaluate(() => navigator.userAgent);
    for (const text of await events.allInnerTexts()) {
      assert.ok(text.includes("127.0.0.1"), text);
      assert.ok(text.includes(userAgent), text);
    }
    assert.match(await page.getByText(/events?, newest first/).innerText(), /^5 events/);
    assert.equal(await page.getByRole("button", { name: "Load more" }).isVisible(), false);

    // Another device signs in and out 8 times: 21 events, one more than a page.
    const device = new TodoqlClient({ url: server.graphqlUrl });
    for (let i = 0; i < 8; i += 1) {
      await device.signIn({ email: owner, password: PASSWORD });
      await device.signOut();
    }
    await page.reload();
    await page.getByRole("heading", { name: "Security log" }).waitFor();
    await eventually(async () => (await events.count()) === 20, "a first page of 20 events");
    await page.getByRole("button", { name: "Load more" }).click();
    await eventually(async () => (await events.count()) === 21, "the 21st event");
    await shot("13-security-log-load-more");

    const types = await shownTypes();
    assert.deepEqual(types.slice(0, 2), ["SIGNED_OUT", "SIGNED_IN"]);
    assert.deepEqual(types.slice(-5), ["SIGNED_IN", "SIGN_IN_FAILED", "SIGNED_OUT", "SIGNED_IN", "SIGNED_UP"]);
    assert.equal(new Set(await events.evaluateAll((items) => items.map((item) => item.dataset.eventId))).size, 21);
    assert.equal(await page.getByRole("button", { name: "Load more" }).isVisible(), false);
  });

  it("turns on two-factor authentication, then signs in with an authenticator code and with a recovery code", async () => {
    const owner = `hopper-${Date.now()}@example.com`;
    const status = () => page.locator("p.status");
    const codesList = () => page.getByRole("list", { name: "Recovery codes" });
    const signInWithPassword = async () => {
      await page.getByLabel("Email").fill(owner);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByRole("heading", { name: "Two-factor authentication" }).waitFor();
    };
    const signOut = async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
    };

    // A verified account (enrollment needs a verified address).
    await page.goto(`${origin}/sign-up`);
    await page.getByLabel("Email").fill(owner);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Verify your email" }).waitFor();
    const mail = await sink.waitForMail(owner, { match: (m) => /verify your email/i.test(m.subject) });
    await page.getByLabel("Code").fill(codeAndLink(mail).code);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Your todos" }).waitFor();

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Account" }).waitFor();
    assert.equal(await status().innerText(), "Two-factor authentication is off.");
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();

    // The QR code is drawn in the page (dark and light pixels on the canvas), and the key is shown.
    await page.getByRole("heading", { name: "Turn on two-factor authentication" }).waitFor();
    const qr = page.getByRole("img", { name: "QR code for your authenticator app" });
    await eventually(
      () =>
        qr.evaluate((canvas) => {
          const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          let dark = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i] < 128) dark += 1;
          return canvas.width > 100 && dark > 0 && dark < data.length / 4;
        }),
      "the QR code on the canvas",
    );
    const shownKey = await page.getByLabel("Secret key").innerText();
    const secret = shownKey.replace(/\s/g, "");
    assert.match(secret, /^[A-Z2-7]{32}$/, shownKey);
    await shot("14-totp-enrollment");

    // What a phone would show now.
    await page.getByLabel("Code from the app").fill(totpCode(secret));
    await page.getByRole("button", { name: "Turn on", exact: true }).click();
    await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor();
    assert.equal(await page.getByRole("status").innerText(), "Two-factor authentication is on.");
    const codes = (await codesList().locator("li").allInnerTexts()).map((c) => c.trim());
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const kept = codes[0];
    await shot("15-recovery-codes");

    // Shown once: the account page has the count, not the codes.
    await page.getByRole("button", { name: "I have saved them" }).click();
    await page.getByRole("heading", { name: "Account" }).waitFor();
    assert.equal(await status().innerText(), "Two-factor authentication is on. 10 recovery codes left.");
    assert.equal(await codesList().count(), 0);
    assert.equal(await page.getByText(kept).count(), 0);

    // Password, then the authenticator's code. The enrollment used this step's code and a step
    // counts once: the phone's next code (the server allows one step of skew).
    await signOut();
    await signInWithPassword();
    await shot("16-second-factor");
    await page.getByLabel("Authenticator code").fill(totpCode(secret, totpStep() + 1));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Your todos" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Account" }).waitFor();
    assert.equal(await status().innerText(), "Two-factor authentication is on. 10 recovery codes left.");

    // Password, then the kept recovery code instead.
    await signOut();
    await signInWithPassword();
    await page.getByRole("button", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill(kept);
    await shot("17-recovery-code");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Your todos" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { name: "Account" }).waitFor();
    assert.equal(await status().innerText(), "Two-factor authentication is on. 9 recovery codes left.");

    // The same recovery code a second time is refused, on the page.
    await signOut();
    await signInWithPassword();
    await page.getByRole("button", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill(kept);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByText("This code or link is wrong, expired or already used.").waitFor();
    assert.equal(await page.getByRole("heading", { name: "Two-factor authentication" }).count(), 1);

    // The security log tells how each sign-in was made.
    await page.getByLabel("Recovery code").fill(codes[1]);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Your todos" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security" }).click();
    await page.getByRole("heading", { name: "Security log" }).waitFor();
    const log = page.getByRole("list", { name: "Security events" });
    const rows = (type) => log.locator(`li[data-event-type="${type}"]`);
    // A refused answer is written just after it: reload until it is there.
    await eventually(async () => {
      if ((await rows("MFA_FAILED").count()) === 1) return true;
      await page.reload();
      await page.getByRole("heading", { name: "Security log" }).waitFor();
      return false;
    }, "the refused recovery code in the log");
    await shot("18-security-log-2fa");
    assert.equal(await rows("TOTP_ENABLED").count(), 1);
    assert.equal(await rows("RECOVERY_CODE_USED").count(), 2);
    const signIns = (await rows("SIGNED_IN").allInnerTexts()).map((t) => t.split("\n")[0].trim());
    assert.deepEqual(signIns, [
      "Signed in with recovery code",
      "Signed in with recovery code",
      "Signed in with authenticator code",
      "Signed in with password",
    ]);
  });

  it("adds a passkey on the account page, then signs in with it, with and without the address", async () => {
    const owner = `lovelace-${Date.now()}@example.com`;
    const passkeyList = () => page.getByRole("list", { name: "Passkeys" });
    const account = async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
      await page.getByRole("heading", { name: "Account" }).waitFor();
    };
    const signOut = async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
    };
    const signInWithPasskey = async (typed) => {
      await page.getByLabel("Email").fill(typed);
      await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    };
    // The methods of the session whose tokens the page holds, as the server has them.
    const sessionMethods = async () => {
      const { accessToken } = JSON.parse(await page.evaluate((key) => localStorage.getItem(key), TOKENS_KEY));
      const response = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ query: "{ sessions { current authenticationMethods } }" }),
      });
      const { data, errors } = await response.json();
      assert.equal(errors, undefined, JSON.stringify(errors));
      return data.sessions.find((s) => s.current).authenticationMethods;
    };

    // Chromium's virtual authenticator, as a phone's or laptop's platform authenticator: it keeps
    // discoverable credentials and verifies the user (as a fingerprint would) without a dialog.
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const stored = async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    try {
      // A new, verified account.
      await page.goto(`${origin}/sign-up`);
      await page.getByLabel("Email").fill(owner);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("heading", { name: "Verify your email" }).waitFor();
      const mail = await sink.waitForMail(owner, { match: (m) => /verify your email/i.test(m.subject) });
      await page.getByLabel("Code").fill(codeAndLink(mail).code);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("heading", { name: "Your todos" }).waitFor();

      await account();
      await page.getByText("No passkeys yet.").waitFor();
      await page.getByLabel("Name (optional)").fill("Laptop");
      await page.getByRole("button", { name: "Add a passkey" }).click();
      await page.getByText("Laptop is added: you can sign in with it.").waitFor();
      await shot("19-passkey-added");

      const rows = passkeyList().locator("li");
      assert.equal(await rows.count(), 1);
      assert.match(await rows.first().innerText(), /Laptop[\s\S]*never used to sign in/);
      // The authenticator holds it: a discoverable credential for this site, for this user.
      const [credential, ...others] = await stored();
      assert.deepEqual(others, []);
      assert.equal(credential.rpId, "localhost");
      assert.equal(credential.isResidentCredential, true);
      const me = new TodoqlClient({ url: server.graphqlUrl });
      await me.signIn({ email: owner, password: PASSWORD });
      const [listed] = await me.passkeys();
      assert.equal(listed.name, "Laptop");
      assert.equal(Buffer.from(credential.userHandle, "base64").toString("base64url"), uuidBase64Url((await me.me()).id));
      await me.signOut();

      // Signed out, the typed address and the passkey sign in: no password, no second step.
      await signOut();
      await page.getByLabel("Email").fill(owner);
      await shot("20-sign-in-page-with-passkey");
      await signInWithPasskey(owner);
      await page.getByRole("heading", { name: "Your todos" }).waitFor();
      assert.deepEqual(await sessionMethods(), ["PASSKEY"]);
      assert.equal((await stored())[0].signCount > credential.signCount, true);

      // And with no address: the authenticator offers its discoverable credential.
      await signOut();
      await signInWithPasskey("");
      await page.getByRole("heading", { name: "Your todos" }).waitFor();
      assert.deepEqual(await sessionMethods(), ["PASSKEY"]);
      await shot("21-signed-in-with-passkey");

      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security" }).click();
      await page.getByRole("heading", { name: "Security log" }).waitFor();
      const log = page.getByRole("list", { name: "Security events" });
      const firstLines = async (type) =>
        (await log.locator(`li[data-event-type="${type}"]`).allInnerTexts()).map((t) => t.split("\n")[0].trim());
      // The heading shows before the list has loaded: wait for the rows, then read them.
      await eventually(async () => (await firstLines("SIGNED_IN")).length >= 3, "the sign-ins in the security log");
      assert.deepEqual((await firstLines("SIGNED_IN")).slice(0, 2), ["Signed in with passkey", "Signed in with passkey"]);
      assert.deepEqual(await firstLines("PASSKEY_ADDED"), ["Passkey added"]);

      // Renamed; its last use is shown; then deleted (the account keeps its password and address).
      await account();
      assert.match(await rows.first().innerText(), /Laptop[\s\S]*last used/);
      await page.getByRole("button", { name: "Rename Laptop" }).click();
      await page.getByLabel("New name for Laptop").fill("Work laptop");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Passkey renamed.").waitFor();
      assert.match(await rows.first().innerText(), /^Work laptop/);
      await shot("22-passkeys-on-account-page");
      await page.getByRole("button", { name: "Delete Work laptop" }).click();
      await page.getByText("Work laptop is deleted.").waitFor();
      await page.getByText("No passkeys yet.").waitFor();

      // The authenticator still holds the credential, but the server no longer takes it.
      await signOut();
      await signInWithPasskey("");
      await page.getByText("This passkey could not be verified for this sign-in.").waitFor();
      assert.equal(await page.getByRole("heading", { name: "Sign in" }).count(), 1);
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), TOKENS_KEY), null);
    } finally {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
      await cdp.detach();
    }
  });

  it("GraphiQL loads with no network and runs { authConfig { passwordSignIn } }", async () => {
    const graphiql = await context.newPage();
    const failed = [];
    graphiql.on("requestfailed", (request) => failed.push(request.url()));
    await graphiql.goto(`${server.baseUrl}/graphql`);
    const editor = graphiql.locator(".graphiql-query-editor .CodeMirror-code");
    await editor.waitFor();
    // The tour is in the editor and the Authorization header waits in the Headers tab.
    await graphiql.getByText("query Tour").waitFor();
    assert.match(await graphiql.locator(".graphiql-editor-tool").innerText(), /Bearer PASTE_ACCESS_TOKEN_HERE/);
    await graphiql.screenshot({ path: path.join(results, "08-graphiql-tour.png") });

    await editor.click();
    await graphiql.keyboard.press("Control+A");
    await graphiql.keyboard.press("Delete");
    await graphiql.keyboard.type("{ authConfig { passwordSignIn } }");
    await graphiql.keyboard.press("Escape");
    // GraphiQL re-reads the operations after a pause; one operation: the button runs it.
    await graphiql.waitForFunction(() => !document.querySelector(".graphiql-execute-button")?.hasAttribute("aria-haspopup"));
    await graphiql.click(".graphiql-execute-button");
    await graphiql.waitForFunction(() => /"passwordSignIn":\s*true/.test(document.querySelector(".graphiql-response")?.innerText ?? ""));
    await graphiql.screenshot({ path: path.join(results, "09-graphiql-offline-result.png") });

    const response = await graphiql.locator(".graphiql-response").innerText();
    assert.match(response, /"authConfig"/);
    assert.deepEqual(failed, []);
    await graphiql.close();
  });

  it("GraphiQL runs a subscription over the WebSocket, with the token of its Headers tab", async () => {
    // An account with a verified address, made through the API; its token goes into GraphiQL.
    const owner = `linus-${Date.now()}@example.com`;
    const api = new TodoqlClient({ url: server.graphqlUrl });
    await api.signUp({ email: owner, password: PASSWORD });
    const mail = await sink.waitForMail(owner, { match: (m) => /verify your email/i.test(m.subject) });
    await api.verifyEmail({ email: owner, code: codeAndLink(mail).code });
    const { accessToken } = await api.refresh(); // a fresh 10-second token for the test below

    const graphiql = await context.newPage();
    const socketsBefore = localSockets.length;
    // As http://localhost:PORT: GraphiQL keeps the last test's one-operation editor in the
    // localStorage of 127.0.0.1:PORT. Starting from the tour (several operations) makes the wait
    // for the run button to lose its menu below mean that GraphiQL has parsed the subscription
    // (else it would run the new text as the old query, by POST).
    const graphiqlUrl = `${server.baseUrl.replace("127.0.0.1", "localhost")}/graphql`;
    await graphiql.goto(graphiqlUrl);
    const editor = graphiql.locator(".graphiql-query-editor .CodeMirror-code");
    await editor.waitFor();
    await graphiql.getByText("query Tour").waitFor();
    // The Headers tab: the Authorization header with the token (GraphiQL sends it as the
    // socket's connection_init payload).
    await graphiql.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror-code").click();
    await graphiql.keyboard.press("Control+A");
    await graphiql.keyboard.press("Delete");
    await graphiql.keyboard.type(`{"Authorization": "Bearer ${accessToken}"}`);
    await editor.click();
    await graphiql.keyboard.press("Control+A");
    await graphiql.keyboard.press("Delete");
    await graphiql.keyboard.type("subscription { todoChanges { revision kind } }");
    await graphiql.keyboard.press("Escape");
    await graphiql.waitForFunction(() => !document.querySelector(".graphiql-execute-button")?.hasAttribute("aria-haspopup"));
    await graphiql.click(".graphiql-execute-button");
    await eventually(() => localSockets.length > socketsBefore, "GraphiQL to open its WebSocket");
    // The socket is authenticated and subscribed before the change is made: a subscription
    // without `since` starts at the current revision. (No ack is visible on the page; the
    // server's count of live sockets would be, but a short wait is simpler.)
    await graphiql.waitForTimeout(1000);

    await api.createTodo({ title: "seen in GraphiQL" }); // a POST from the test
    await graphiql.waitForFunction(() => /"kind":\s*"CREATED"/.test(document.querySelector(".graphiql-response")?.innerText ?? ""));
    await graphiql.screenshot({ path: path.join(results, "31-graphiql-subscription.png") });
    const response = await graphiql.locator(".graphiql-response").innerText();
    assert.match(response, /"revision":\s*1\b/);
    assert.deepEqual(localSockets.slice(socketsBefore), [graphiqlUrl.replace(/^http/, "ws")]);
    await graphiql.close();
  });

  it("no page asked for anything off this machine", () => {
    assert.deepEqual(offHost, []);
  });
});
