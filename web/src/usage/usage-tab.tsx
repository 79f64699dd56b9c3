import { useMemo, useState } from 'react';
import { useServerContext } from '../server/server-page.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { ago, counted, formatBytes } from '../ui/format.js';
import { useNow } from '../ui/use-now.js';
import { UsageChart, type ChartSeries } from './usage-chart.js';
import { useUsage, type ServerUsage, type UsageRange } from './usage-queries.js';

const BLUE = '#1d4ed8';
const GREEN = '#047857';
const AMBER = '#b45309';

const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const formatCount = (value: number) => whole.format(value);
const seconds = (iso: string) => new Date(iso).getTime() / 1000;
const DAY_SECONDS = 86_400;

/** The server's usage: now against its plan, then over the last 7 or 30 days. */
export function UsageTab() {
  const server = useServerContext();
  const usage = useUsage(server.id);
  const [days, setDays] = useState(7);
  const now = useNow(15_000);

  if (usage.error) return <ErrorNotice error={usage.error} />;
  if (!usage.data) return <p className="loading">Loading…</p>;
  const data = usage.data;
  const range = data.ranges.find((r) => r.days === days) ?? data.ranges[0];
  return (
    <div className="stack">
      <section className="card" aria-labelledby="usage-now-title">
        <h2 id="usage-now-title">Now</h2>
        {data.latest && data.sampledAt ? (
          <>
            <Figures usage={data} latest={data.latest} />
            <p className="hint">
              Counted {ago(data.sampledAt, now)}. Parley counts every few minutes; the admin account is not counted as a user.
            </p>
          </>
        ) : (
          <p className="hint">Parley has not counted this server yet: the first count comes within minutes of it being ready.</p>
        )}
      </section>
      {range ? (
        <section className="card" aria-labelledby="usage-history-title">
          <div className="section-head">
            <h2 id="usage-history-title">Last {days} days</h2>
            <div className="segmented" role="group" aria-label="Period">
              {data.ranges.map((r) => (
                <button key={r.days} type="button" aria-pressed={r.days === days} onClick={() => setDays(r.days)}>
                  {r.days} days
                </button>
              ))}
            </div>
          </div>
          <RangeCharts range={range} />
        </section>
      ) : null}
    </div>
  );
}

function Figures({ usage, latest }: { usage: ServerUsage; latest: NonNullable<ServerUsage['latest']> }) {
  const storage = latest.uploadBytes + latest.archiveBytes;
  return (
    <dl className="figures">
      <div>
        <dt>Users</dt>
        <dd>
          {latest.registeredUsers} of {usage.limits.users}
          <meter min={0} max={usage.limits.users} value={latest.registeredUsers} aria-label="Users against the plan's limit" />
        </dd>
      </div>
      <div>
        <dt>Online now</dt>
        <dd>{counted(latest.onlineUsers, 'user')}</dd>
      </div>
      <div>
        <dt>Messages today</dt>
        <dd>{formatCount(usage.messagesToday)}</dd>
      </div>
      <div>
        <dt>Storage</dt>
        <dd>
          {formatBytes(storage)} of {formatBytes(usage.limits.storageBytes)}
          <meter min={0} max={usage.limits.storageBytes} value={storage} high={usage.limits.storageBytes * 0.85} aria-label="Storage against the plan's quota" />
          <span className="hint">
            Files shared {formatBytes(latest.uploadBytes)}, message archives {formatBytes(latest.archiveBytes)}
          </span>
        </dd>
      </div>
    </dl>
  );
}

function RangeCharts({ range }: { range: UsageRange }) {
  const charts = useMemo(() => chartsOf(range), [range]);
  if (range.points.length === 0 && charts.messagesTotal === 0) return <p className="empty">No counts in this period yet.</p>;
  return (
    <div className="charts">
      <UsageChart title="Users" summary={charts.usersSummary} span={charts.span} times={charts.pointTimes} series={charts.users} whole format={formatCount} />
      <UsageChart title="Messages per day" summary={charts.messagesSummary} span={charts.daySpan} times={charts.dayTimes} series={charts.messages} bars whole format={formatCount} />
      <UsageChart title="Storage" summary={charts.storageSummary} span={charts.span} times={charts.pointTimes} series={charts.storage} format={formatBytes} />
    </div>
  );
}

/** The charts' series, and each chart said in words. */
function chartsOf(range: UsageRange) {
  const pointTimes = range.points.map((p) => seconds(p.at));
  const registered = range.points.map((p) => p.registeredUsers);
  const online = range.points.map((p) => p.onlineUsers);
  const storage = range.points.map((p) => p.storageBytes);
  const daily = range.messagesPerDay.map((d) => d.messages);
  const messagesTotal = daily.reduce((sum, n) => sum + n, 0);
  const peak = (values: number[]) => (values.length === 0 ? 0 : Math.max(...values));
  const period = `over the last ${range.days} days`;
  const dayTimes = range.messagesPerDay.map((d) => seconds(`${d.day}T12:00:00Z`));
  const end = Date.now() / 1000;
  return {
    span: [end - range.days * DAY_SECONDS, end] as [number, number],
    // Each day's bar stands at its noon: the span runs from the first day's start to the last day's end.
    daySpan: [(dayTimes[0] ?? end) - DAY_SECONDS / 2, (dayTimes.at(-1) ?? end) + DAY_SECONDS / 2] as [number, number],
    pointTimes,
    dayTimes,
    messagesTotal,
    users: [
      { label: 'Registered', values: registered, color: BLUE },
      { label: 'Online (peak)', values: online, color: GREEN },
    ] satisfies ChartSeries[],
    messages: [{ label: 'Messages sent', values: daily, color: BLUE }] satisfies ChartSeries[],
    storage: [{ label: 'Storage used', values: storage, color: AMBER }] satisfies ChartSeries[],
    usersSummary: `Users ${period}: ${registered.at(-1) ?? 0} registered now, at most ${peak(online)} online at once.`,
    messagesSummary: `Messages per day ${period}: ${formatCount(messagesTotal)} in all, ${formatCount(daily.at(-1) ?? 0)} today, ${formatCount(peak(daily))} on the busiest day.`,
    storageSummary: `Storage ${period}: ${formatBytes(storage.at(-1) ?? 0)} now, at most ${formatBytes(peak(storage))}.`,
  };
}
