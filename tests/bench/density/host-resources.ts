// What a node spends as it fills, read from /proc and /sys: the resources that could stop a node
// from taking one more server before memory does (PIDs, file descriptors, inotify instances,
// conntrack entries, ports on the tenant bridge), and the host's CPU time.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { MiB } from '../shared/host-footprint.js';

const read = (path: string) => readFileSync(path, 'utf8').trim();
const readNumber = (path: string): number | null => (existsSync(path) ? Number(read(path).split(/\s+/)[0]) : null);

/** Ports one Linux bridge takes (BR_MAX_PORTS, net/bridge/br_private.h): one per container on the tenant network. */
const BRIDGE_MAX_PORTS = 1024;

export interface HostSample {
  memAvailableMiB: number;
  /** Kernel tasks (processes and threads), each holding a PID. */
  tasks: number;
  /** File handles the kernel has allocated (first field of fs/file-nr). */
  fileHandles: number;
  /** inotify instances open across the host (every user here is root). */
  inotifyInstances: number;
  /** null when the conntrack module is not loaded. */
  conntrack: number | null;
  /** Interfaces on the tenant network's bridge. */
  bridgePorts: number;
  load1: number;
}

export interface HostLimits {
  memTotalMiB: number;
  /** The lower of pid_max and threads-max: a task needs a PID and a thread slot. */
  tasks: number;
  fileHandles: number;
  inotifyInstances: number;
  conntrack: number | null;
  bridgePorts: number;
}

const meminfo = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(read('/proc/meminfo'))?.[1] ?? NaN) * 1024;

/** Counts inotify descriptors over every process (a process gone meanwhile is skipped). */
function inotifyInstances(): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') count++;
      } catch {
        // closed while listed
      }
    }
  }
  return count;
}

export function sampleHost(bridge: string): HostSample {
  const loadavg = read('/proc/loadavg').split(' ');
  const bridgeDir = `/sys/class/net/${bridge}/brif`;
  return {
    memAvailableMiB: meminfo('MemAvailable') / MiB,
    tasks: Number(loadavg[3]?.split('/')[1] ?? NaN),
    fileHandles: Number(read('/proc/sys/fs/file-nr').split(/\s+/)[0]),
    inotifyInstances: inotifyInstances(),
    conntrack: readNumber('/proc/sys/net/netfilter/nf_conntrack_count'),
    bridgePorts: existsSync(bridgeDir) ? readdirSync(bridgeDir).length : 0,
    load1: Number(loadavg[0]),
  };
}

export function hostLimits(): HostLimits {
  return {
    memTotalMiB: meminfo('MemTotal') / MiB,
    tasks: Math.min(readNumber('/proc/sys/kernel/pid_max') ?? Infinity, readNumber('/proc/sys/kernel/threads-max') ?? Infinity),
    fileHandles: readNumber('/proc/sys/fs/file-max') ?? Infinity,
    inotifyInstances: readNumber('/proc/sys/fs/inotify/max_user_instances') ?? Infinity,
    conntrack: readNumber('/proc/sys/net/netfilter/nf_conntrack_max'),
    bridgePorts: BRIDGE_MAX_PORTS,
  };
}

/** CPU jiffies spent and total, from the first line of /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const fields = (read('/proc/stat').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Every process's parent and CPU ticks, its reaped children's included (a shim reaps its execs). */
function processTicks(): Map<number, { ppid: number; ticks: number }> {
  const table = new Map<number, { ppid: number; ticks: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = read(`/proc/${pid}/stat`);
    } catch {
      continue; // ended while listed
    }
    // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    table.set(Number(pid), { ppid: fields[1] ?? 0, ticks: (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0) });
  }
  return table;
}

/** CPU ticks of `roots` and all their descendants. */
function treeTicks(roots: number[]): number {
  const table = processTicks();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let ticks = 0;
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop() ?? 0;
    if (seen.has(pid)) continue;
    seen.add(pid);
    ticks += table.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

/**
 * The share of the host's CPU (all cores) that `roots` and their descendants spent over the next
 * `ms` milliseconds, and the share everything on the host spent.
 */
export async function cpuBusyOver(ms: number, roots: number[]): Promise<{ node: number; host: number }> {
  const cores = (read('/proc/stat').match(/^cpu\d+ /gm) ?? []).length;
  const before = { host: cpuTimes(), node: treeTicks(roots), at: performance.now() };
  await new Promise((r) => setTimeout(r, ms));
  const host = cpuTimes();
  const node = treeTicks(roots);
  const seconds = (performance.now() - before.at) / 1000;
  return { node: (node - before.node) / TICKS_PER_SECOND / seconds / cores, host: (host.busy - before.host.busy) / (host.total - before.host.total) };
}
