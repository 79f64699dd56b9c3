import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'dashboard');

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** A finding in a line a failed assertion can show: rule, what it asks, where. */
export interface Finding {
  rule: string;
  help: string;
  targets: string[];
}

export interface PageAudit {
  viewport: keyof typeof VIEWPORTS;
  /** axe-core's serious and critical findings. */
  violations: Finding[];
  /** How far the page is wider than the window (0: nothing to scroll sideways). */
  overflowPx: number;
}

/**
 * Screenshots the page at desktop and phone width into tests/artifacts/dashboard/, and at each
 * width runs axe-core in the page and measures sideways overflow. axe is evaluated through the
 * DevTools protocol, which the page's CSP (script-src 'self') does not govern.
 */
export async function auditPage(page: Page, name: string): Promise<PageAudit[]> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const audits: PageAudit[] = [];
  for (const [viewport, size] of Object.entries(VIEWPORTS) as [keyof typeof VIEWPORTS, { width: number; height: number }][]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${viewport}.png`), fullPage: true, animations: 'disabled' });
    const alreadyLoaded = await page.evaluate('typeof window.axe === "object"');
    if (!alreadyLoaded) await page.evaluate(AXE_SOURCE);
    const result = await page.evaluate<{ violations: AxeViolation[] }>('axe.run(document, { resultTypes: ["violations"] })');
    const overflowPx = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    const violations = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ rule: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
    audits.push({ viewport, violations, overflowPx });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
  return audits;
}
