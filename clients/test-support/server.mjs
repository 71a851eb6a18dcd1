// Starts a real todoql server for tests: a fresh SQLite database in a temporary directory,
// port chosen by the OS, and a fixed JWT secret. The binary is $TODOQL_BIN, or the debug build.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The todoql binary the tests run. */
export function todoqlBin() {
  const bin = process.env.TODOQL_BIN ?? path.join(repo, "target/debug/todoql");
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with 'cargo build -p todoql-server' or set TODOQL_BIN`);
  }
  return bin;
}

/**
 * The flags that give a server a fresh TODOQL_ENCRYPTION_KEY (32 random bytes): without one,
 * two-factor authentication is off (authConfig.totp false, the TOTP mutations FORBIDDEN).
 */
export function encryptionKeyArgs() {
  return ["--encryption-key", randomBytes(32).toString("hex")];
}

/** Starts `todoql serve` with extra flags; resolves once it listens. */
export async function startTodoql({ args = [], env = {}, timeoutMs = 60000 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "todoql-test-"));
  const child = spawn(
    todoqlBin(),
    [
      "serve",
      "--listen", "127.0.0.1:0",
      "--database-url", `sqlite://${dir}/todoql.db?mode=rwc`,
      "--jwt-secret", randomBytes(32).toString("hex"),
      "--log-format", "json",
      "--purge-interval", "0",
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (log += c));
  child.stderr.setEncoding("utf8").on("data", (c) => (log += c));

  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`todoql did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = () => {
      const found = /listening on (http:\/\/[0-9.]+:\d+)/.exec(log);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`todoql exited with ${code} before listening:\n${log}`));
    });
  });

  return {
    baseUrl,
    graphqlUrl: `${baseUrl}/graphql`,
    /** Everything the server printed so far. */
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
