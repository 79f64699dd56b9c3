import { ApiError, type FieldProblem } from './api-error.js';

interface Problem {
  title?: unknown;
  detail?: unknown;
  errors?: unknown;
}

// The API's details are written for people already; they also point scripts at API routes
// ("(DELETE /api/v1/servers/{id})", "Watch GET /api/v1/..."), which mean nothing here: the
// dashboard puts the matching button beside the message instead.
export function withoutApiReferences(text: string): string {
  const pieces = text
    .replace(/\s*\([^()]*\/api\/v1\/[^()]*\)/g, '')
    .split(/(?<=[.;])\s+/)
    .filter((piece) => !piece.includes('/api/v1/'));
  return pieces.join(' ').replace(/;$/, '.');
}

const FALLBACK_TITLES: Record<number, string> = {
  401: 'You are logged out',
  403: 'Not allowed',
  404: 'Not found',
  429: 'Too many attempts',
  500: 'Something went wrong on our side',
  502: 'Parley is unreachable',
  503: 'Parley is temporarily unavailable',
  504: 'Parley is unreachable',
};

function isFieldProblem(value: unknown): value is FieldProblem {
  return typeof value === 'object' && value !== null && 'field' in value && 'message' in value;
}

/** Turns an HTTP answer that is not OK into an ApiError with a title and detail worth showing. */
export function toApiError(status: number, body: unknown, retryAfter: string | null): ApiError {
  const problem: Problem = typeof body === 'object' && body !== null ? body : {};
  const title = typeof problem.title === 'string' ? problem.title : (FALLBACK_TITLES[status] ?? 'Request failed');
  let detail = typeof problem.detail === 'string' ? withoutApiReferences(problem.detail) : '';
  if (!detail && status >= 500) detail = 'Nothing was changed. Try again in a minute.';
  if (status === 429 && retryAfter) detail = `${detail} You can try again in ${Math.ceil(Number(retryAfter) / 60)} minute(s).`.trim();
  // A field's message can name a route too ("order a server with that name instead (POST ...)").
  const fields = Array.isArray(problem.errors) ? problem.errors.filter(isFieldProblem).map((f) => ({ ...f, message: withoutApiReferences(f.message) })) : [];
  return new ApiError(status, title, detail || title, fields);
}

export const UNREACHABLE = new ApiError(
  0,
  'Parley is unreachable',
  'The dashboard could not reach Parley. Check your connection; if it is fine, Parley may be down for a moment. Nothing was changed.',
);
