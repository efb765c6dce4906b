// Validates Kubernetes objects against the API's OpenAPI schemas with kubernetes-models.
// Usage: node validate.mjs OBJECTS.json  (a JSON array of objects). Prints one line per invalid
// object and exits 1 if there is any; an apiVersion/kind it does not know is invalid too.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(process.argv[2], "utf-8"));
let invalid = 0;
for (const object of objects) {
  const where = `${object.kind} ${object.metadata?.name}`;
  let models;
  try {
    // kubernetes-models/v1 (the core group), kubernetes-models/apps/v1, ...
    models = await import(`kubernetes-models/${object.apiVersion}`);
  } catch (error) {
    console.log(`${where}: no schemas for apiVersion ${object.apiVersion}`);
    invalid++;
    continue;
  }
  const Model = models[object.kind];
  if (!Model) {
    console.log(`${where}: ${object.apiVersion} has no kind ${object.kind}`);
    invalid++;
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    console.log(`${where}: ${error.message}`);
    invalid++;
  }
}
process.exit(invalid ? 1 : 0);
