import type { FastifySerializerCompiler } from 'fastify';
import fastJson from 'fast-json-stringify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * A route's `serializerCompiler` for a large 2xx answer (a page of rich items). The app's zod
 * serializer re-parses every field of every item before JSON.stringify, which for the server list
 * cost more CPU than writing the JSON. This one compiles the same zod schema's JSON Schema with
 * fast-json-stringify: only the documented properties are written (anything else is dropped), a
 * missing required one fails the answer with a 500, and values are written as their documented
 * type (coerced, not checked): the type provider checks the handler's return type against the
 * schema at compile time, and formats (uuid, date-time) come from the DTO mapper by construction.
 * Problem answers keep the zod serializer, and the OpenAPI spec is still generated from the zod
 * schema.
 */
export const compiledSuccessSerializer: FastifySerializerCompiler<unknown> = (route) => {
  if (!route.httpStatus?.startsWith('2')) return serializerCompiler(route as Parameters<typeof serializerCompiler>[0]);
  if (!(route.schema instanceof z.ZodType)) throw new Error(`${route.method} ${route.url}: the ${route.httpStatus} response schema is not a zod schema`);
  return fastJson(nullableAsTypeList(z.toJSONSchema(route.schema, { io: 'output', target: 'draft-7' })) as fastJson.AnySchema);
};

/**
 * zod writes `.nullable()` as `anyOf: [schema, { type: 'null' }]`, which fast-json-stringify
 * resolves by validating each value against the branches with Ajv; `type: [type, 'null']` says the
 * same and is resolved by a typeof check.
 */
function nullableAsTypeList(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullableAsTypeList);
  if (typeof schema !== 'object' || schema === null) return schema;
  const node: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, nullableAsTypeList(value)]));
  const branches: unknown = node.anyOf;
  if (!Array.isArray(branches) || branches.length !== 2) return node;
  const nullAt = branches.findIndex((b: unknown) => typeof b === 'object' && b !== null && Object.keys(b).length === 1 && (b as { type?: unknown }).type === 'null');
  const other = branches[1 - nullAt] as { type?: unknown } | undefined;
  if (nullAt === -1 || typeof other?.type !== 'string') return node;
  const { anyOf: _anyOf, ...rest } = node;
  return { ...rest, ...other, type: [other.type, 'null'] };
}
