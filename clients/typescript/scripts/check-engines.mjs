// Checks that a package's Node ranges are ones its installed dependencies also declare:
// - `engines.node` (what the package's users need) must lie within the `engines.node` of every
//   dependency it installs for its users (the lockfile's non-dev entries);
// - `devEngines.runtime` (what working on the package needs; `engines.node` when absent) must
//   lie within the `engines.node` of every package in the lockfile.
// A dependency without `engines` claims nothing and is not checked. Running on the lowest
// version (scripts/runtime-smoke.mjs) is the other half of the proof.
//
//   node scripts/check-engines.mjs [package directory ...]     (default: this package)
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dirs = process.argv.length > 2 ? process.argv.slice(2) : [here];
let problems = 0;

for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(path.join(dir, "package-lock.json"), "utf8"));
  const users = pkg.engines?.node;
  const developers = pkg.devEngines?.runtime?.name === "node" ? pkg.devEngines.runtime.version : users;
  if (!users || !semver.validRange(users)) {
    console.log(`${pkg.name}: engines.node is missing or not a range: ${users}`);
    problems += 1;
    continue;
  }

  let checked = 0;
  for (const [where, entry] of Object.entries(lock.packages ?? {})) {
    // "" is the package itself; a link points at a package checked on its own.
    if (where === "" || entry.link || !where.includes("node_modules/")) continue;
    const range = entry.engines?.node;
    if (!range) continue;
    const name = where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length);
    if (!semver.validRange(range)) {
      console.log(`${pkg.name}: ${name}@${entry.version} declares an unreadable engines.node: ${range}`);
      problems += 1;
      continue;
    }
    checked += 1;
    if (!entry.dev && !semver.subset(users, range)) {
      console.log(`${pkg.name}: engines.node "${users}" but its dependency ${name}@${entry.version} wants "${range}"`);
      problems += 1;
    }
    if (developers && !semver.subset(developers, range)) {
      console.log(`${pkg.name}: development needs "${developers}" but ${name}@${entry.version} wants "${range}"`);
      problems += 1;
    }
  }
  console.log(`${pkg.name}: engines.node "${users}", development "${developers}": ${checked} declared ranges checked`);
}

process.exitCode = problems === 0 ? 0 : 1;
