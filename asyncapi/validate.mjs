// Validates an AsyncAPI document with the official parser (@asyncapi/parser).
// Usage: node asyncapi/validate.mjs asyncapi/asyncapi.yaml
// Prints every diagnostic and a count per severity; exits 1 when any is an error (severity 0).
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "info", "hint"];

const path = process.argv[2];
if (!path) {
  console.error("usage: node asyncapi/validate.mjs <asyncapi.yaml>");
  process.exit(2);
}

const text = await readFile(path, "utf8");
const { document, diagnostics } = await new Parser().parse(text, { source: path });

const counts = { error: 0, warning: 0, info: 0, hint: 0 };
for (const d of diagnostics) {
  const severity = SEVERITY[d.severity] ?? String(d.severity);
  counts[severity] = (counts[severity] ?? 0) + 1;
  const where = d.path && d.path.length ? d.path.join(".") : "<root>";
  const line = d.range ? `${d.range.start.line + 1}:${d.range.start.character + 1}` : "?";
  console.log(`${severity} ${d.code} at ${where} (line ${line}): ${d.message}`);
}
const version = document ? document.version() : "unparsed";
console.log(
  `${path}: AsyncAPI ${version}; diagnostics: ${counts.error} error, ${counts.warning} warning, ` +
    `${counts.info} info, ${counts.hint} hint`,
);
process.exit(counts.error > 0 || !document ? 1 : 0);
