import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Names the session cookie; HttpOnly, so page scripts never see it. */
export const SESSION_COOKIE = 'parley_session';
/** The header a cookie-authenticated write must carry (see auth.plugin.ts). */
export const CSRF_HEADER = 'x-csrf-token';
/** Personal API tokens start with this, so secret scanners and people can recognise them. */
export const API_TOKEN_PREFIX = 'prl_';
/** How many characters of a token are kept in clear to tell tokens apart in the UI. */
const VISIBLE_TOKEN_CHARS = 12;

/** 256 random bits, URL-safe. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function newApiToken(): { token: string; prefix: string } {
  const token = `${API_TOKEN_PREFIX}${randomSecret()}`;
  return { token, prefix: token.slice(0, VISIBLE_TOKEN_CHARS) };
}

/**
 * Session and API tokens are 256 random bits, so a fast hash is enough at rest (no guessing to
 * slow down); the database then never holds a usable credential.
 */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The CSRF token is derived from the session token, so GET /me can hand it out again without
 * storing it in clear; only its hash is stored (Session.csrfSecretHash).
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('parley csrf v1').digest('base64url');
}

export function matchesHash(candidate: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(candidate), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
