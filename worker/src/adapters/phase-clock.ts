import type { EnsurePhase } from '../ports/container-runtime.js';

/**
 * Adds up the time an `ensureServer` call spends in each of its phases (a phase entered again on a
 * retry adds to its total), so that a slow start says which of the engine's calls it waited on.
 */
export function phaseClock() {
  const totals: Partial<Record<EnsurePhase, number>> = {};
  return {
    async time<T>(phase: EnsurePhase, work: () => Promise<T>): Promise<T> {
      const began = performance.now();
      try {
        return await work();
      } finally {
        totals[phase] = (totals[phase] ?? 0) + Math.round(performance.now() - began);
      }
    },
    totals: (): Partial<Record<EnsurePhase, number>> => ({ ...totals }),
  };
}
