// validate-openapi.mjs FILE: checks the gateway's OpenAPI document (build/web/openapi.json,
// written by simpul-openapi) the way a client generator would read it:
//   - valid against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator);
//   - every "$ref" resolves inside the document;
//   - every operationId is present and unique;
//   - no schema is empty where a message is meant (every media type, parameter and
//     component schema says what it is: a type, a $ref, a oneOf/anyOf/allOf).
// Prints one line "openapi.json: OpenAPI 3.1 valid: P paths, O operations, S schemas" and
// exits 0, or prints the errors and exits 1.
import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function pointer(doc, ref) {
  if (!ref.startsWith('#/')) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

function walk(node, path, visit) {
  if (node === null || typeof node !== 'object') return;
  visit(node, path);
  for (const [key, value] of Object.entries(node)) walk(value, `${path}/${key}`, visit);
}

function meaningful(schema) {
  if (schema === null || typeof schema !== 'object') return false;
  return ['type', '$ref', 'oneOf', 'anyOf', 'allOf', 'enum', 'const'].some((k) => k in schema);
}

export async function check(file) {
  const text = await readFile(file, 'utf8');
  const doc = JSON.parse(text);
  const errors = [];
  const validator = new Validator();
  const result = await validator.validate(doc);
  if (!result.valid) {
    const list = Array.isArray(result.errors) ? result.errors : [result.errors];
    for (const e of list.slice(0, 50)) {
      errors.push(`schema: ${e.instancePath ?? ''} ${e.message ?? JSON.stringify(e)}`);
    }
  } else if (validator.version !== '3.1') {
    errors.push(`expected OpenAPI 3.1, got ${validator.version}`);
  }
  walk(doc, '#', (node, path) => {
    if (typeof node.$ref === 'string' && pointer(doc, node.$ref) === undefined) {
      errors.push(`${path}: $ref ${node.$ref} does not resolve`);
    }
  });
  const ids = new Map();
  let operations = 0;
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      operations++;
      const where = `${m.toUpperCase()} ${p}`;
      if (!op.operationId) errors.push(`${where}: no operationId`);
      else if (ids.has(op.operationId)) {
        errors.push(`${where}: operationId ${op.operationId} also on ${ids.get(op.operationId)}`);
      } else ids.set(op.operationId, where);
      for (const param of op.parameters ?? []) {
        if (!param.$ref && !meaningful(param.schema)) {
          errors.push(`${where}: parameter ${param.name} has an empty schema`);
        }
      }
      const media = [
        ...Object.entries(op.requestBody?.content ?? {}).map(([t, c]) => [`request ${t}`, c]),
        ...Object.entries(op.responses ?? {}).flatMap(([code, r]) =>
          Object.entries(r.content ?? {}).map(([t, c]) => [`${code} ${t}`, c])),
      ];
      for (const [what, content] of media) {
        if (!meaningful(content.schema)) errors.push(`${where}: ${what} has an empty schema`);
      }
    }
  }
  const schemas = doc.components?.schemas ?? {};
  for (const [name, schema] of Object.entries(schemas)) {
    if (!meaningful(schema)) errors.push(`components/schemas/${name} is empty`);
    for (const [prop, s] of Object.entries(schema.properties ?? {})) {
      if (!meaningful(s) && !(s.items && meaningful(s.items))) {
        errors.push(`components/schemas/${name}.${prop} is an empty schema`);
      }
    }
  }
  return {
    errors,
    paths: Object.keys(doc.paths ?? {}).length,
    operations,
    schemas: Object.keys(schemas).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node tools/validate-openapi.mjs FILE');
    process.exit(2);
  }
  const r = await check(file).catch((e) => ({ errors: [String(e?.stack ?? e)] }));
  if (r.errors.length > 0) {
    console.error(`${file}: ${r.errors.length} problem(s):`);
    for (const e of r.errors) console.error(`  ${e}`);
    process.exit(1);
  }
  console.log(`${file}: OpenAPI 3.1 valid: ${r.paths} paths, ${r.operations} operations, ` +
    `${r.schemas} schemas; every $ref resolves, operationIds unique`);
}
