import { UNREACHABLE, toApiError } from './plain-words.js';

const BASE = '/api/v1';

// The session cookie authenticates; writes must also carry the session's CSRF token, which
// sign-up, log-in and GET /me hand out. Kept in memory only: a reload asks /me again.
let csrfToken: string | null = null;

export function rememberCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A request body already in its wire form. */
interface Payload {
  contentType: string;
  text: string;
}

/**
 * The address of an API route, for a link the browser follows itself (a download): the session
 * cookie goes with it as with any same-origin request, and a GET needs no CSRF token.
 */
export const apiUrl = (path: string) => `${BASE}${path}`;

/** One API call: JSON in, JSON out, and an ApiError in plain words when it fails. */
export function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, body === undefined ? undefined : { contentType: 'application/json', text: JSON.stringify(body) });
}

async function send<T>(method: Method, path: string, payload?: Payload): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload) headers['content-type'] = payload.contentType;
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers,
      credentials: 'same-origin',
      ...(payload ? { body: payload.text } : {}),
    });
  } catch {
    throw UNREACHABLE;
  }
  const text = await response.text().catch(() => '');
  const parsed = parseJson(text);
  if (!response.ok) throw toApiError(response.status, parsed, response.headers.get('retry-after'));
  return parsed as T;
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string, body?: unknown) => request<T>('DELETE', path, body);
/** An XML document as the body (an upload), JSON back. */
export const postXml = <T>(path: string, xml: string) => send<T>('POST', path, { contentType: 'application/xml', text: xml });
