import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertDomain } from '../contracts/domain-name.js';

const ATTEMPT_TIMEOUT_MS = 3_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const STARTTLS = /<starttls\s[^>]*xmlns=(['"])urn:ietf:params:xml:ns:xmpp-tls\1/;

export class XmppServiceNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmppServiceNotReadyError';
  }
}

type Attempt = { ready: true } | { ready: false; reason: string };

/** One c2s stream opening: ready when the server's features offer STARTTLS. */
function probeOnce(host: string, port: number, domain: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = '';
    const finish = (attempt: Attempt) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(attempt);
    };
    const timer = setTimeout(() => finish({ ready: false, reason: `no stream features within ${timeoutMs} ms` }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      socket.write(
        `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
      );
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      const streamError = /<stream:error>\s*<([a-z-]+)/.exec(received);
      if (streamError) return finish({ ready: false, reason: `stream error from the server: ${streamError[1]}` });
      if (/<\/stream:features>|<stream:features\s*\/>/.test(received)) {
        return finish(STARTTLS.test(received) ? { ready: true } : { ready: false, reason: 'the server does not offer STARTTLS' });
      }
      if (received.length > MAX_RESPONSE_BYTES) finish({ ready: false, reason: 'oversized stream header' });
    });
    socket.on('error', (error) => finish({ ready: false, reason: error.message }));
    // docker-proxy accepts connections before Prosody listens, then closes them.
    socket.on('close', () => finish({ ready: false, reason: received ? 'connection closed before stream features' : 'connection closed at once' }));
  });
}

/**
 * Waits until the server at host:port answers a c2s stream for `domain` with STARTTLS offered:
 * the "healthy" signal after a container starts. Retries with a short backoff until the
 * deadline, then fails with the last reason seen. `betweenAttempts` runs after each failed
 * attempt, during the pause before the next, and may throw to stop waiting early (the container
 * is gone, say).
 */
export async function waitForXmppService(options: {
  host: string;
  port: number;
  domain: string;
  timeoutMs: number;
  betweenAttempts?: () => Promise<void>;
}): Promise<{ attempts: number; elapsedMs: number }> {
  const domain = assertDomain(options.domain);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let delay = 50;
  for (let attempts = 1; ; attempts++) {
    const remaining = deadline - Date.now();
    const attempt = await probeOnce(options.host, options.port, domain, Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, remaining)));
    if (attempt.ready) return { attempts, elapsedMs: Date.now() - started };
    if (Date.now() + delay >= deadline) {
      await options.betweenAttempts?.();
      throw new XmppServiceNotReadyError(
        `XMPP service for ${domain} at ${options.host}:${options.port} not ready after ${options.timeoutMs} ms (${attempts} attempts): ${attempt.reason}`,
      );
    }
    // The check runs during the pause, so its engine calls (slower on a busy node) add no wait.
    await Promise.all([options.betweenAttempts?.(), sleep(delay)]);
    delay = Math.min(delay * 2, 500);
  }
}
