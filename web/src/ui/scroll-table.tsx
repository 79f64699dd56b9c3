import type { ReactNode } from 'react';

/**
 * A table that may scroll sideways at phone width. Focusable and named, so keyboard users can
 * scroll it too (axe: scrollable-region-focusable).
 */
export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}
