#!/usr/bin/env node
// Validate an AsyncAPI (3.x) document with @asyncapi/parser.
// Usage: node tools/lint/validate-asyncapi.mjs api/asyncapi.yaml
// The document is read via fromFile() with its absolute path as `source`, so
// relative $refs (e.g. './openapi.yaml#/components/schemas/X') resolve against it.
// Exit 1 on any error-severity diagnostic; warnings/info are printed only.
import path from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) { console.error('usage: validate-asyncapi.mjs <asyncapi.yaml>'); process.exit(2); }
const source = path.resolve(file);

const { document, diagnostics } = await fromFile(new Parser(), source).parse();
const name = (s) => DiagnosticSeverity[s] ?? String(s);
for (const d of diagnostics) {
  const where = d.source ? path.relative(process.cwd(), d.source) : file;
  const line = d.range ? `:${d.range.start.line + 1}:${d.range.start.character + 1}` : '';
  console.log(`${where}${line} ${name(d.severity).toLowerCase()} ${d.code} ${d.message} [${(d.path ?? []).join('.')}]`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
const warnings = diagnostics.length - errors;
if (errors > 0 || !document) {
  console.error(`${file}: FAILED (${errors} error(s), ${warnings} other diagnostic(s))`);
  process.exit(1);
}
console.log(`${file}: OK (AsyncAPI ${document.version()}, ${warnings} non-error diagnostic(s))`);
