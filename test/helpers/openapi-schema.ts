// A JSON Schema validator for the subset OpenAPI 3.1 documents use (2020-12: type lists, enum, const, required,
// properties, additionalProperties, items, anyOf/oneOf/allOf, string/number/array bounds and $ref into components):
// the tests that hold the served /openapi.json to what the routes answer.
export type Schema = Record<string, any> | boolean;
export interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: Schema }> }> }>>;
  components?: { schemas?: Record<string, Schema> };
}

/** A JSON Schema (2020-12, the subset OpenAPI 3.1 documents use) validator: returns the problems found, [] if none. */
export function validate(doc: Doc, schema: Schema, value: unknown, at = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${at}: no value allowed`];
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (target === undefined) return [`${at}: unresolved ${schema.$ref}`];
    const rest = { ...schema };
    delete rest.$ref;
    return [...validate(doc, target, value, at), ...validate(doc, rest, value, at)];
  }
  const errors: string[] = [];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (schema.type !== undefined) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    const ok = types.some((ty) => ty === t || (ty === 'integer' && t === 'number' && Number.isInteger(value)));
    if (!ok) return [`${at}: expected ${types.join('|')}, got ${t} ${JSON.stringify(value)?.slice(0, 80)}`];
  }
  if (schema.nullable === true && value === null) return [];
  if (schema.enum && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) errors.push(`${at}: ${JSON.stringify(value)} not in enum ${JSON.stringify(schema.enum)}`);
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${at}: not the const ${JSON.stringify(schema.const)}`);
  if (schema.anyOf && !schema.anyOf.some((s: Schema) => validate(doc, s, value, at).length === 0)) errors.push(`${at}: matches none of anyOf`);
  if (schema.oneOf && schema.oneOf.filter((s: Schema) => validate(doc, s, value, at).length === 0).length !== 1) errors.push(`${at}: does not match exactly one of oneOf`);
  for (const s of schema.allOf ?? []) errors.push(...validate(doc, s, value, at));
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: not a date-time`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: ${value} < minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: ${value} > maximum ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) errors.push(`${at}: ${value} <= exclusiveMinimum`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) errors.push(`${at}: ${value} >= exclusiveMaximum`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((v, i) => errors.push(...validate(doc, schema.items, v, `${at}[${i}]`)));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) errors.push(`${at}: missing required "${k}"`);
    const props: Record<string, Schema> = schema.properties ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validate(doc, props[k], v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property "${k}"`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(doc, schema.additionalProperties, v, `${at}.${k}`));
    }
  }
  return errors;
}
