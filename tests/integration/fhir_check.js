// SPDX-License-Identifier: BSD-2-Clause
// fhir_check.js BUNDLE.json — runs the third-party validators on a FHIR
// export and prints one JSON object:
//   schema_errors   errors of @asymmetrik/fhir-json-schema-validator (FHIR R4
//                   JSON schema) for the Bundle with every entry in it
//   mutant_errors   the same for a copy with one Observation broken on
//                   purpose (status "bogus"), so a validator that accepts
//                   anything cannot pass the test
//   units           {UCUM code: status from @lhncbc/ucum-lhc validateUnitString}
//                   for every valueQuantity with system http://unitsofmeasure.org
// Module paths come from NODE_PATH (build/npm/node_modules).
'use strict';
const fs = require('fs');
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const ucum = require('@lhncbc/ucum-lhc');

const bundle = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const validator = new Validator();
const schemaErrors = validator.validate(bundle);

const mutant = JSON.parse(JSON.stringify(bundle));
const obs = mutant.entry.find((e) => e.resource.resourceType === 'Observation');
if (obs) obs.resource.status = 'bogus';
const mutantErrors = obs ? validator.validate(mutant) : [];

const utils = ucum.UcumLhcUtils.getInstance();
const units = {};
function quantity(q) {
  if (q && q.system === 'http://unitsofmeasure.org' && !(q.code in units))
    units[q.code] = utils.validateUnitString(q.code).status;
}
for (const e of bundle.entry) {
  const r = e.resource;
  quantity(r.valueQuantity);
  for (const c of r.component || []) quantity(c.valueQuantity);
}
process.stdout.write(JSON.stringify({
  schema_errors: schemaErrors,
  mutant_errors: mutantErrors.length,
  units: units,
}) + '\n');
