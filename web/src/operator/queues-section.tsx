import { ScrollTable } from '../ui/scroll-table.js';
import type { QueueDepth } from './operator-types.js';

/** How much work each of the worker's queues holds. */
export function QueuesSection({ queues }: { queues: QueueDepth[] }) {
  return (
    <section className="card stack" aria-labelledby="operator-queues">
      <h2 id="operator-queues">Queues</h2>
      <ScrollTable label="Jobs per queue">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Waiting</th>
            <th scope="col">Running</th>
            <th scope="col">Delayed</th>
            <th scope="col">Failed</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.name}>
              <td data-label="Queue">
                <code>{queue.name}</code>
              </td>
              <td data-label="Waiting">{queue.waiting}</td>
              <td data-label="Running">{queue.active}</td>
              <td data-label="Delayed">{queue.delayed}</td>
              <td data-label="Failed">{queue.failed}</td>
            </tr>
          ))}
        </tbody>
      </ScrollTable>
    </section>
  );
}
