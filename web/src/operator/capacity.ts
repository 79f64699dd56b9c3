export const MIB = 1024 * 1024;

/** Alert rules fire at 85% of a node's memory or disk (infra/prometheus/alerts.yml): the bar turns there. */
export const HIGH_SHARE = 0.85;

/** "42%": a share, rounded, that never reads 0% while something is used. */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const share = (part / whole) * 100;
  return `${share > 0 && share < 1 ? '<1' : Math.round(share)}%`;
}
