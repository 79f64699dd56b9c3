import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: number[];
  /** A colour readable on white, which the legend repeats next to the label. */
  color: string;
}

const HEIGHT = 170;
const AXIS = '#4a5568';
const GRID = '#e5e9f0';
// Counts tick on whole numbers only: "1.5 users" is no reading.
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];

/**
 * A small time chart (uPlot, on a canvas). What it shows is also said in words (`summary`), as
 * the image's accessible name: a screen reader gets the figures without the picture.
 */
export function UsageChart({ title, summary, span, times, series, bars = false, whole = false, format }: {
  title: string;
  summary: string;
  /** The period shown, in Unix seconds: the whole of it, however few points fall in it. */
  span: [number, number];
  /** Unix seconds of each point, oldest first. */
  times: number[];
  series: ChartSeries[];
  bars?: boolean;
  whole?: boolean;
  format: (value: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => span }, y: { range: (_plot, _min, max) => [0, Math.max(whole ? 1 : 1024, max) * 1.15] } },
      axes: [
        { stroke: AXIS, grid: { stroke: GRID } },
        { stroke: AXIS, grid: { stroke: GRID }, size: whole ? 56 : 96, ...(whole ? { incrs: WHOLE_STEPS } : {}), values: (_plot, ticks) => ticks.map(format) },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          points: { show: times.length < 3 },
          ...(bars ? { fill: s.color, paths: uPlot.paths.bars?.({ size: [0.6, 48] }) } : {}),
        })),
      ],
    };
    const plot = new uPlot(options, [times, ...series.map((s) => s.values)], element);
    // The page reflows (a phone turned, a sidebar): the canvas follows its box.
    const resize = new ResizeObserver(() => {
      if (element.clientWidth > 0) plot.setSize({ width: element.clientWidth, height: HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [span, times, series, bars, whole, format]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-plot" role="img" aria-label={summary} />
      <ul className="chart-legend" aria-hidden="true">
        {series.map((s) => (
          <li key={s.label}>
            <span className={`chart-key chart-key-${s.color.slice(1)}`} />
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
