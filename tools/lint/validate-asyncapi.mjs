#!/usr/bin/env node
// Validate an AsyncAPI (3.x) document with @asyncapi/parser, then check every
// message example against its payload schema.
// Usage: node tools/lint/validate-asyncapi.mjs api/asyncapi.yaml
// The document is read via fromFile() with its absolute path as `source`, so
// relative $refs (e.g. './openapi.yaml#/components/schemas/X') resolve against it.
// Payloads in the OpenAPI 3.0 schema format are parsed by the registered
// OpenAPI schema parser. The parser checks message examples only for
// AsyncAPI 2, so this script validates them itself (ajv, OpenAPI schemas
// converted to JSON Schema): mock servers and the documentation serve them.
// The handshake's refusals (x-refusals of a channel's ws binding) are
// checked to be envelopes too.
// Exit 1 on any error-severity diagnostic or invalid example; warnings/info
// are printed only.
import path from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { OpenAPISchemaParser } from '@asyncapi/openapi-schema-parser';
import { fromSchema } from '@openapi-contrib/openapi-schema-to-json-schema';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const file = process.argv[2];
if (!file) { console.error('usage: validate-asyncapi.mjs <asyncapi.yaml>'); process.exit(2); }
const source = path.resolve(file);

const parser = new Parser();
parser.registerSchemaParser(OpenAPISchemaParser());
const { document, diagnostics } = await fromFile(parser, source).parse();
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

// jsonSchema returns a message payload as JSON Schema: OpenAPI 3.0 schemas
// are converted (nullable, example), and discriminators, which only pick
// among oneOf branches that the branches' own `type` enums already tell
// apart, are dropped.
function jsonSchema(payload) {
  const raw = payload.json();
  let schema = raw.schema ?? raw;
  if (String(raw.schemaFormat ?? '').startsWith('application/vnd.oai.openapi')) {
    schema = fromSchema(structuredClone(schema), { strictMode: false });
  }
  const strip = (s) => {
    if (Array.isArray(s)) { s.forEach(strip); return; }
    if (s && typeof s === 'object') {
      delete s.discriminator;
      delete s['x-parser-schema-id'];
      delete s.$schema;
      Object.values(s).forEach(strip);
    }
  };
  schema = structuredClone(schema);
  strip(schema);
  return schema;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
let examples = 0;
let bad = 0;
for (const channel of document.allChannels()) {
  for (const message of channel.messages()) {
    const payload = message.payload();
    const list = message.examples().all();
    if (!payload) continue;
    if (list.length === 0) {
      console.error(`${file}: channel ${channel.id()} message ${message.id()} has no example`);
      bad++;
      continue;
    }
    const validate = ajv.compile(jsonSchema(payload));
    for (const ex of list) {
      examples++;
      if (!validate(ex.payload())) {
        bad++;
        console.error(`${file}: channel ${channel.id()} message ${message.id()} example ${ex.name() ?? '?'}: ${ajv.errorsText(validate.errors)}`);
      }
    }
  }
}
// A channel's ws binding lists the handshake's HTTP refusals under
// x-refusals, each an example of the envelope {code, message}.
const refusal = ajv.compile({
  type: 'object',
  required: ['summary', 'value'],
  additionalProperties: false,
  properties: {
    summary: { type: 'string', minLength: 1 },
    value: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'integer', minimum: 400, maximum: 599 },
        message: { type: 'string', minLength: 1 },
      },
    },
  },
});
for (const channel of document.allChannels()) {
  const ws = channel.bindings().get('ws');
  for (const [id, ex] of Object.entries(ws?.value()?.['x-refusals'] ?? {})) {
    examples++;
    if (!refusal(ex)) {
      bad++;
      console.error(`${file}: channel ${channel.id()} ws binding x-refusals ${id}: ${ajv.errorsText(refusal.errors)}`);
    }
  }
}
if (bad > 0) {
  console.error(`${file}: FAILED (${bad} missing or invalid example(s))`);
  process.exit(1);
}
console.log(`${file}: OK (AsyncAPI ${document.version()}, ${warnings} non-error diagnostic(s), ${examples} example(s) valid)`);
