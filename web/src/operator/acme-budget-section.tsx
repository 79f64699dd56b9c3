import { counted } from '../ui/format.js';
import { CapacityMeter } from './capacity-meter.js';
import { percent } from './capacity.js';
import type { AcmeBudget } from './operator-types.js';

const HOUR_MS = 3_600_000;

/** "3 hours", "90 minutes": the budget's sliding window. */
const windowWords = (ms: number) => (ms % HOUR_MS === 0 ? counted(ms / HOUR_MS, 'hour') : counted(Math.round(ms / 60_000), 'minute'));

/** New ACME orders in the sliding window against the budget Parley keeps under the CA's limit. */
export function AcmeBudgetSection({ budget }: { budget: AcmeBudget }) {
  return (
    <section className="card stack" aria-labelledby="operator-acme">
      <h2 id="operator-acme">ACME budget</h2>
      <p>
        <CapacityMeter label="ACME orders spent in the window" used={budget.usedInWindow} total={budget.limit} />{' '}
        {budget.usedInWindow} of {budget.limit} new certificate orders in the last {windowWords(budget.windowMs)} ({percent(budget.usedInWindow, budget.limit)}).
      </p>
      <p className="hint">Each customer may use up to {budget.perCustomerLimit} of them; past either limit, orders wait for the window to free a slot.</p>
    </section>
  );
}
