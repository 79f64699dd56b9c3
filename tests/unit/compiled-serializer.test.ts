import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compiledSuccessSerializer } from '../../api/src/http/compiled-serializer.js';
import { pageSchema, problemSchema } from '../../api/src/http/schemas.js';

const item = z.object({ id: z.uuid(), at: z.iso.datetime().nullable(), detail: z.object({ port: z.number().int() }).nullable() });
const route = (schema: unknown, httpStatus: string) => compiledSuccessSerializer({ schema, method: 'GET', url: '/things', httpStatus });
const serialize = route(pageSchema(item), '200');
const id = '019ab123-4567-7abc-8def-0123456789ab';

describe('compiledSuccessSerializer', () => {
  it('writes what JSON.stringify writes for a conforming answer', () => {
    const page = { items: [{ id, at: '2026-01-02T03:04:05.678Z', detail: { port: 5222 } }, { id, at: null, detail: null }], nextCursor: null };
    expect(serialize(page)).toBe(JSON.stringify(page));
  });

  it('writes only the documented properties', () => {
    const page = { items: [{ id, at: null, detail: { port: 1 }, password: 'p' }], nextCursor: id, internal: true };
    expect(JSON.parse(serialize(page))).toEqual({ items: [{ id, at: null, detail: { port: 1 } }], nextCursor: id });
    const nested = { items: [{ id, at: null, detail: { port: 1, secret: 's' } }], nextCursor: null };
    expect(JSON.parse(serialize(nested))).toEqual({ items: [{ id, at: null, detail: { port: 1 } }], nextCursor: null });
  });

  it('refuses an answer missing a required property of a nullable object', () => {
    expect(() => serialize({ items: [{ id, at: null, detail: {} }], nextCursor: null })).toThrow(/port/);
  });

  it('refuses an answer missing a required property', () => {
    expect(() => serialize({ items: [{ at: null, detail: null }], nextCursor: null })).toThrow(/id/);
  });

  it('leaves problem answers to the zod serializer, which keeps their extra members', () => {
    const problem = { type: 'about:blank', title: 'Bad', status: 400, detail: 'd', instance: '/things', retryAfter: 3 };
    expect(JSON.parse(route(problemSchema, '4xx')(problem))).toEqual(problem);
  });
});
