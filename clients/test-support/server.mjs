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
  const databaseUrl = `sqlite://${dir}/todoql.db?mode=rwc`;
  // Kept across restart(): the same database and key, so tokens and data survive it.
  const jwtSecret = randomBytes(32).toString("hex");
  let log = "";
  let child;

  /** Spawns the server on `listen`; resolves to its base URL once it listens. */
  const spawnServer = (listen) => {
    child = spawn(
      todoqlBin(),
      [
        "serve",
        "--listen", listen,
        "--database-url", databaseUrl,
        "--jwt-secret", jwtSecret,
        "--log-format", "json",
        "--purge-interval", "0",
        ...args,
      ],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const started = log.length;
    child.stdout.setEncoding("utf8").on("data", (c) => (log += c));
    child.stderr.setEncoding("utf8").on("data", (c) => (log += c));
    const current = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`todoql did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
      const onData = () => {
        const found = /listening on (http:\/\/[0-9.]+:\d+)/.exec(log.slice(started));
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      };
      current.stdout.on("data", onData);
      current.stderr.on("data", onData);
      current.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`todoql exited with ${code} before listening:\n${log}`));
      });
    });
  };

  const stopServer = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  };

  const baseUrl = await spawnServer("127.0.0.1:0");

  return {
    baseUrl,
    graphqlUrl: `${baseUrl}/graphql`,
    databaseUrl,
    /** Everything the server printed so far (across restarts). */
    log: () => log,
    /** Stops the server (SIGTERM: a graceful shutdown) and starts it again on the same port and database. */
    async restart() {
      await stopServer();
      await spawnServer(new URL(baseUrl).host);
    },
    async stop() {
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
