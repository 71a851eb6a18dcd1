// The GraphQL-over-HTTP audit of the graphql-http package (the reference implementation's
// server audits) against todoql. Prints one line per audit (ok / notice / warn / FAIL, with the
// reason), then the counts; exits 1 when a MUST fails (or an audit could not run), else 0.
//
//   npm ci && node audit.mjs                 starts a todoql of its own (target/debug/todoql or
//                                            $TODOQL_BIN) on a fresh SQLite database
//   node audit.mjs http://127.0.0.1:8000/graphql     audits a running server
//   node audit.mjs --reference               audits graphql-http's own reference server (a
//                                            check of this script: no MUST fails there)
import { createServer } from "node:http";
import { buildSchema } from "graphql";
import { serverAudits } from "graphql-http";
import { createHandler } from "graphql-http/lib/use/http";
import { startTodoql } from "../../clients/test-support/server.mjs";

/** graphql-http's reference handler with a one-field schema, on a free port. */
async function startReference() {
  const schema = buildSchema("type Query { hello: String }");
  const handler = createHandler({ schema, rootValue: { hello: () => "world" } });
  const server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname === "/graphql") void handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    graphqlUrl: `http://127.0.0.1:${server.address().port}/graphql`,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

const LABELS = { ok: "ok    ", notice: "notice", warn: "warn  ", error: "FAIL  " };

/** Runs every audit, one at a time, and never throws: an audit that throws is a failure. */
async function runAudits(url) {
  const results = [];
  for (const audit of serverAudits({ url })) {
    try {
      results.push(await audit.fn());
    } catch (error) {
      results.push({ id: audit.id, name: audit.name, status: "error", reason: `the audit threw: ${error?.message ?? error}` });
    }
  }
  return results;
}

function report(results) {
  for (const result of results) {
    const line = `${LABELS[result.status] ?? result.status} ${result.id} ${result.name}`;
    console.log(result.status === "ok" ? line : `${line}\n         ${result.reason}`);
  }
  const count = (status) => results.filter((r) => r.status === status).length;
  const failed = results.filter((r) => r.status === "error");
  console.log(
    `\ngraphql-http audit: ${count("ok")} ok, ${count("warn")} warnings, ${count("notice")} notices, ` +
      `${failed.length} failed MUSTs (of ${results.length} audits)`,
  );
  for (const result of failed) console.log(`  failed: ${result.id} ${result.name}`);
  return failed.length;
}

const given = process.argv[2];
const server = given === "--reference" ? await startReference() : given ? undefined : await startTodoql();
const url = server?.graphqlUrl ?? given;
console.log(`auditing ${url}\n`);
try {
  const failures = report(await runAudits(url));
  process.exitCode = failures === 0 ? 0 : 1;
} finally {
  await server?.stop();
}
