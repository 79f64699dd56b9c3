const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });

export const formatDateTime = (iso: string) => dateTime.format(new Date(iso));
export const formatDate = (iso: string) => date.format(new Date(iso));

/** "1 server", "3 servers": a plan's limits read as a sentence. */
export const counted = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** "512 bytes", "1.5 MiB": sizes in the binary units the plans' storage is given in. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return counted(bytes, 'byte');
  let value = bytes / 1024;
  let unit: (typeof BINARY_UNITS)[number] = 'KiB';
  for (const next of BINARY_UNITS.slice(1)) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${oneDecimal.format(value)} ${unit}`;
}

/** "in 6 days" / "3 hours ago", for expiries people reason about in days. */
export function relative(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.round(seconds), 'second');
}

/**
 * "just now" / "2 minutes ago" for something that has happened: a page's clock ticks every few
 * seconds, so a moment the server has just recorded may look a little in the future.
 */
export function ago(iso: string, now = Date.now()): string {
  return now - new Date(iso).getTime() < 5_000 ? 'just now' : relative(iso, now);
}
