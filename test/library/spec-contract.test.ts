import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { eventSchemaNames, itemSchemaNames, partSchemaNames, requiredEventFields, requiredItemFields, requiredPartFields, requiredResponseFields } from "../support/spec-contract.ts";

// The spec lives beside the repository while developing and in CI, not in a user's clone.
const specPath = new URL("../../../shared/spec/openresponses-openapi.json", import.meta.url);
const present = existsSync(specPath);

describe.runIf(present)("spec-contract.ts matches the Open Responses spec", () => {
  const schemas = present ? (JSON.parse(readFileSync(specPath, "utf8")) as { components: { schemas: Record<string, { required?: string[] }> } }).components.schemas : {};
  const required = (name: string) => [...(schemas[name]?.required ?? [])].sort();

  it("ResponseResource", () => expect([...requiredResponseFields].sort()).toEqual(required("ResponseResource")));
  it.each(Object.entries(eventSchemaNames))("%s", (type, schema) => expect([...requiredEventFields[type]!].sort()).toEqual(required(schema)));
  it.each(Object.entries(itemSchemaNames))("item %s", (type, schema) => expect([...requiredItemFields[type]!].sort()).toEqual(required(schema)));
  it.each(Object.entries(partSchemaNames))("part %s", (type, schema) => expect([...requiredPartFields[type]!].sort()).toEqual(required(schema)));
});
