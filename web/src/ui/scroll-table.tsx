import type { ReactNode } from 'react';

/**
 * A table that stacks its cells at phone width (each cell's data-label names its column there)
 * and may still scroll sideways: focusable and named, so keyboards can scroll it too.
 */
export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table className="table-stack">{children}</table>
    </div>
  );
}
