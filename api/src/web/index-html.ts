import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const ZONE_META = '<meta name="parley-platform-zone" content="" />';

/**
 * The built index.html with this platform's zone filled in, so the order form can show
 * "alice.<zone>" without a request. Read per request: a rebuild never leaves stale asset names.
 */
export async function renderIndexHtml(distDir: string, platformZone: string): Promise<string> {
  const html = await readFile(join(distDir, 'index.html'), 'utf8');
  return html.replace(ZONE_META, `<meta name="parley-platform-zone" content="${escapeAttribute(platformZone)}" />`);
}

// The zone is a checked DNS name already; escaping keeps that from being the only guard.
const escapeAttribute = (value: string) => value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
