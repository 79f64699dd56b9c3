import { HIGH_SHARE } from './capacity.js';

/**
 * How full something is, as the browser's own meter (its colour turns past the alerting share).
 * The figures are in the words beside it; the label names it for screen readers.
 */
export function CapacityMeter({ label, used, total }: { label: string; used: number; total: number }) {
  return <meter aria-label={label} min={0} max={total} value={Math.min(used, total)} low={total * 0.7} high={total * HIGH_SHARE} optimum={0} />;
}
