import fc from 'fast-check';
import type { ApiHarness } from './api-harness.js';

/** The part of JSON Schema the generated spec uses. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
}

interface OpenApiParameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

interface OpenApiOperation {
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

/** One route of the spec, as the generic tests (tenant isolation, fuzzing) see it. */
export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The OpenAPI template, e.g. /api/v1/tokens/{id}. */
  path: string;
  pathParams: string[];
  /** The query parameters gathered into one object schema; undefined when the route takes none. */
  query: JsonSchema | undefined;
  body: JsonSchema | undefined;
  secured: boolean;
  tags: string[];
  raw: OpenApiOperation;
}

export async function fetchSpec(harness: Pick<ApiHarness, 'inject'>): Promise<OpenApiDocument> {
  const response = await harness.inject({ method: 'GET', url: '/api/docs/json' });
  if (response.statusCode !== 200) throw new Error(`GET /api/docs/json answered ${response.statusCode}`);
  return response.json<OpenApiDocument>();
}

/** Every operation under /api/v1 in the served spec: new routes are picked up without editing a test. */
/**
 * Routes tagged so never end by design (Server-Sent Events): the generic request-and-compare
 * tests leave them out, and each has its own tests (tests/api/servers.test.ts for the timeline).
 */
export const STREAMING_TAG = 'streaming';

export function operationsOf(spec: OpenApiDocument, prefix = '/api/v1/'): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    if (!path.startsWith(prefix)) continue;
    for (const [method, raw] of Object.entries(methods)) {
      if ((raw.tags ?? []).includes(STREAMING_TAG)) continue;
      const parameters = raw.parameters ?? [];
      const queryParams = parameters.filter((p) => p.in === 'query');
      operations.push({
        method: method.toUpperCase() as Operation['method'],
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query:
          queryParams.length === 0
            ? undefined
            : {
                type: 'object',
                properties: Object.fromEntries(queryParams.map((p) => [p.name, p.schema])),
                required: queryParams.filter((p) => p.required).map((p) => p.name),
              },
        body: raw.requestBody?.content['application/json']?.schema,
        secured: (raw.security ?? []).length > 0,
        tags: raw.tags ?? [],
        raw,
      });
    }
  }
  return operations;
}

export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${template}`);
    return encodeURIComponent(value);
  });
}

/** Query values go over the wire as strings. */
export function toQueryString(query: unknown): string {
  if (query === null || typeof query !== 'object' || Array.isArray(query)) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (value === undefined) continue;
    search.append(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

const MAX_STRING = 300;

/**
 * Values that mostly satisfy the schema (so requests get past validation and exercise the
 * handlers), built from the spec itself rather than from hand-written generators.
 */
export function conformingArbitrary(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  if (!schema || Object.keys(schema).length === 0) return fc.jsonValue();
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map(conformingArbitrary));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => conformingArbitrary({ ...schema, type })));
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1e6, Number.MIN_SAFE_INTEGER), max: Math.min(schema.maximum ?? 1e6, Number.MAX_SAFE_INTEGER) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'string':
      return stringArbitrary(schema);
    case 'array':
      return fc.array(conformingArbitrary(schema.items), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    case 'object': {
      const properties = schema.properties ?? {};
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, conformingArbitrary(value)])),
        { requiredKeys: (schema.required ?? []).filter((key) => key in properties) },
      );
    }
    default:
      return fc.jsonValue();
  }
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? MAX_STRING, Math.max(minLength, MAX_STRING));
  const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
  // zod writes its exact grammar (emails, uuids, datetimes) as a pattern: the surest source.
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  switch (schema.format) {
    case 'email':
      return fc.emailAddress().filter(fits);
    case 'uuid':
      return fc.uuid();
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  return fc.string({ minLength, maxLength, unit: 'binary' });
}

/**
 * What a fuzzer sends: mostly conforming values, some with one field broken (wrong type, missing,
 * or an unknown extra), and some arbitrary JSON.
 */
export function fuzzArbitrary(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  const conforming = conformingArbitrary(schema);
  const broken = fc
    .tuple(conforming, fc.jsonValue(), fc.nat(), fc.constantFrom('replace', 'delete', 'extra'))
    .map(([value, junk, index, how]) => breakOneField(value, junk, index, how));
  return fc.oneof({ weight: 4, arbitrary: conforming }, { weight: 3, arbitrary: broken }, { weight: 1, arbitrary: fc.jsonValue() });
}

function breakOneField(value: unknown, junk: unknown, index: number, how: 'replace' | 'delete' | 'extra'): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return junk;
  const copy = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const key = keys[index % Math.max(keys.length, 1)];
  if (how === 'extra' || key === undefined) copy[`unexpected${index % 3}`] = junk;
  else if (how === 'delete') delete copy[key];
  else copy[key] = junk;
  return copy;
}
