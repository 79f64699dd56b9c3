import type { FastifyReply } from 'fastify';
import type { ApiConfig } from '../config.js';
import { SESSION_COOKIE } from './credentials.js';

/**
 * HttpOnly (page scripts never read it), SameSite=Lax (not sent on cross-site POSTs), Secure
 * outside the sandbox, whose API is served over plain http on loopback.
 */
function cookieOptions(config: Pick<ApiConfig, 'mode'>) {
  return { httpOnly: true, sameSite: 'lax', secure: config.mode !== 'sandbox', path: '/' } as const;
}

export function setSessionCookie(reply: FastifyReply, config: Pick<ApiConfig, 'mode'>, token: string, expiresAt: Date): void {
  reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions(config), expires: expiresAt });
}

export function clearSessionCookie(reply: FastifyReply, config: Pick<ApiConfig, 'mode'>): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(config));
}
