import { z } from 'zod';

/** RFC 9457 problem details; loose, because some problems carry extra members (errors, retryAfter). */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  errors: z.array(z.object({ in: z.enum(['body', 'query', 'path', 'header']), field: z.string(), message: z.string() })).optional(),
});

/** Spread into every route's `response` so the spec documents the problem+json answers. */
export const problemResponses = { '4xx': problemSchema, '5xx': problemSchema } as const;

/** The body of an action that takes no input: none at all, or an empty JSON object. */
export const noInput = z.strictObject({}).nullish().describe('Nothing to send: no body, or an empty JSON object.');

/**
 * A field's error message for a wrong type or format that still says "is required" when the field
 * is missing: `z.string({ error: expected('must be a string') })`.
 */
export const expected =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : message;

/**
 * A short human label (a token's or an invite's note): trimmed, 1..max characters, no control
 * characters, which Postgres text cannot hold (NUL) or which would garble a listing.
 */
export function labelSchema(max: number, emptyHint: string) {
  return z
    .string({ error: expected('must be a string') })
    .trim()
    .min(1, `must not be empty: ${emptyHint}`)
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters (such as NUL, tab or newline)');
}

/** `:id` of a resource with a UUID primary key. */
export const uuidParams = z.strictObject({ id: z.uuid({ error: expected('must be a resource id (a UUID)') }) });

export const pageLimit = z.coerce
  .number({ error: expected('must be a number from 1 to 100') })
  .int('must be a whole number from 1 to 100')
  .min(1, 'must be from 1 to 100')
  .max(100, 'must be from 1 to 100')
  .default(50);

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` to get the next page; null on the last page.'),
  });
}

/**
 * Cursor pagination over rows fetched with `take: limit + 1`: the extra row only tells whether
 * another page exists.
 */
export function toPage<Row, Item>(rows: Row[], limit: number, cursorOf: (row: Row) => string, toItem: (row: Row) => Item) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(toItem), nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
