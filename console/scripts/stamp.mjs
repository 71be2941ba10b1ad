// Records the hash of the console's sources next to the build; tests/test_console.py recomputes
// it and fails when the committed assets are older than the sources.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const inputs = ["index.html", "graphiql.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json", "src"];
const files = [];
const walk = (p) => (statSync(p).isDirectory() ? readdirSync(p).forEach((n) => walk(join(p, n))) : files.push(p));
inputs.forEach((i) => walk(join(root, i)));
const hash = createHash("sha256");
for (const f of files.map((f) => relative(root, f).split("\\").join("/")).sort()) {
  hash.update(f + "\0");
  hash.update(readFileSync(join(root, f)));
  hash.update("\0");
}
writeFileSync(join(root, "../platform/rapport/_data/console/build-info.json"), JSON.stringify({ sources: hash.digest("hex") }) + "\n");
