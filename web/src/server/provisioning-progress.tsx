import type { ServerDetail, ServerEvent } from '../api/types.js';
import { failureNotice } from './last-attempt.js';
import { currentSetup, PROVISIONING_STEPS } from './provisioning-steps.js';

type StepStatus = 'waiting' | 'running' | 'done' | 'failed';

function statusOf(events: readonly ServerEvent[], step: string): { status: StepStatus; last?: ServerEvent } {
  const last = events.filter((e) => e.step === step && e.status !== 'info').at(-1);
  if (!last) return { status: 'waiting' };
  // A failure the worker retries by itself leaves the step in progress.
  const status: StepStatus = last.status === 'succeeded' ? 'done' : last.status === 'failed' && !last.willRetry ? 'failed' : 'running';
  return { status, last };
}

const WORDS: Record<StepStatus, string> = { waiting: 'Waiting', running: 'In progress', done: 'Done', failed: 'Failed' };

/** Each provisioning step with where it stands, from the live timeline; the caller frames it. */
export function ProvisioningProgress({ server, events }: { server: ServerDetail; events: ServerEvent[] }) {
  const setup = currentSetup(events);
  const steps = PROVISIONING_STEPS.map((s) => ({ ...s, ...statusOf(setup, s.step) }));
  const done = steps.filter((s) => s.status === 'done').length;
  const current = steps.find((s) => s.status === 'running' || s.status === 'failed');
  const summary =
    server.state === 'failed'
      ? `Setting up stopped: ${server.stateReason ?? 'a step failed.'}`
      : server.state === 'ready'
        ? 'Your server is ready.'
        : `Step ${Math.min(done + 1, steps.length)} of ${steps.length}: ${current?.title ?? 'starting'}…`;
  return (
    <div className="stack">
      <h2 id="progress-title">Setting up {server.domain}</h2>
      <p className="progress-summary" role="status" aria-live="polite">
        {summary}
      </p>
      <div className="progress-bar" aria-hidden="true">
        <div className={`progress-fill progress-${done}`} />
      </div>
      <ol className="steps">
        {steps.map((s) => (
          <li key={s.step} className={`step step-${s.status}`}>
            <span className="step-icon" aria-hidden="true" />
            <span className="step-title">{s.title}</span>
            <span className="step-status">
              {WORDS[s.status]}
              {s.last && s.last.attempt > 1 && s.status !== 'done' ? `, attempt ${s.last.attempt}` : ''}
            </span>
            {s.last?.status === 'failed' ? <p className="step-detail">{failureNotice(s.last)}</p> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
