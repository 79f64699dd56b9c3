import type { FastifySerializerCompiler } from 'fastify';
import fastJson from 'fast-json-stringify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * A route's `serializerCompiler` for a large 2xx answer (a page of rich items). The app's zod
 * serializer re-parses every field of every item before JSON.stringify, which for the server list
 * cost more CPU than writing the JSON. This one compiles the same zod schema's JSON Schema with
 * fast-json-stringify: only the documented properties are written (anything else is dropped), a
 * missing required one fails the answer with a 500, and nullable members must match one of their
 * branches exactly (extra properties included) or fail it too. Other members are written as their
 * documented type (coerced, not checked): the type provider checks the handler's return type
 * against the schema at compile time, and formats (uuid) come from the DTO mapper by construction.
 * Problem answers keep the zod serializer, and the OpenAPI spec is still generated from the zod
 * schema.
 */
export const compiledSuccessSerializer: FastifySerializerCompiler<unknown> = (route) => {
  if (!route.httpStatus?.startsWith('2')) return serializerCompiler(route as Parameters<typeof serializerCompiler>[0]);
  if (!(route.schema instanceof z.ZodType)) throw new Error(`${route.method} ${route.url}: the ${route.httpStatus} response schema is not a zod schema`);
  return fastJson(z.toJSONSchema(route.schema, { io: 'output', target: 'draft-7' }) as fastJson.AnySchema);
};
