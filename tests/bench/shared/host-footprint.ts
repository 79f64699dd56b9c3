import { readdirSync, readFileSync } from 'node:fs';
import type Docker from 'dockerode';

export const MiB = 1024 * 1024;

/**
 * A process's proportional set size, in bytes: its private pages plus its share of the pages it
 * shares (every shim and docker-proxy runs the same binary), so the sum over processes counts
 * each page once, where resident sizes would count shared pages in every process.
 */
export function pssOf(pid: string): number {
  const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  if (!pss) throw new Error(`no Pss for process ${pid}`);
  return Number(pss[1]) * 1024;
}

/** A process's threads: each holds a PID of the kernel's pid_max and threads-max. */
function threadsOf(pid: string): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

export interface HostProcess {
  pid: string;
  cmdline: string;
}

/** Every process's command line, read once per measurement. */
export function processes(): HostProcess[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        return [{ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') }];
      } catch {
        return []; // ended while listed
      }
    });
}

export interface ServerFootprint {
  /** Bytes: the container's cgroup less page cache, its shim's PSS, its docker-proxies' PSS. */
  container: number;
  shim: number;
  proxies: number;
  /** Tasks (processes and threads) in the container, its shim and its docker-proxies. */
  pids: number;
  /** Host ports it publishes, each one docker-proxy with the userland proxy on. */
  ports: number;
}

/**
 * What the host spends on one idle server: the container's cgroup memory less page cache, plus
 * the proportional set sizes of its containerd shim and of the docker-proxy of each published
 * port (Docker's userland proxy; none when dockerd runs with --userland-proxy=false). A shim or
 * proxy that cannot be found is an error: counting it as zero would flatter the figure.
 */
export async function serverFootprint(docker: Docker, containerId: string, all: HostProcess[], userlandProxy: boolean): Promise<ServerFootprint> {
  const container = docker.getContainer(containerId);
  const stats = (await container.stats({ stream: false })) as {
    memory_stats: { usage?: number; stats?: { cache?: number; total_inactive_file?: number; inactive_file?: number } };
    pids_stats?: { current?: number };
  };
  const { usage = 0, stats: detail = {} } = stats.memory_stats;
  const cgroup = usage - (detail.total_inactive_file ?? detail.inactive_file ?? detail.cache ?? 0);
  const shim = all.find((p) => p.cmdline.includes('containerd-shim') && p.cmdline.includes(containerId));
  if (!shim) throw new Error(`no containerd shim found for container ${containerId}`);
  const ports = Object.values((await container.inspect()).NetworkSettings.Ports ?? {}).flatMap((bindings) => (bindings ?? []).map((b) => b.HostPort));
  let proxies = 0;
  let proxyThreads = 0;
  if (userlandProxy) {
    for (const port of ports) {
      const proxy = all.find((p) => p.cmdline.includes('docker-proxy') && p.cmdline.includes(`-host-port ${port} `));
      if (!proxy) throw new Error(`no docker-proxy found for port ${port} of container ${containerId}`);
      proxies += pssOf(proxy.pid);
      proxyThreads += threadsOf(proxy.pid);
    }
  }
  return { container: cgroup, shim: pssOf(shim.pid), proxies, pids: (stats.pids_stats?.current ?? 0) + threadsOf(shim.pid) + proxyThreads, ports: ports.length };
}

/** Whether dockerd runs its userland proxy (the default), from its command line and daemon.json. */
export function dockerUserlandProxy(all: HostProcess[]): boolean {
  const dockerd = all.find((p) => /(^|\/)dockerd( |$)/.test(p.cmdline));
  if (dockerd?.cmdline.includes('--userland-proxy=false')) return false;
  try {
    return (JSON.parse(readFileSync('/etc/docker/daemon.json', 'utf8')) as { 'userland-proxy'?: boolean })['userland-proxy'] !== false;
  } catch {
    return true;
  }
}

export const memAvailable = () => Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN) * 1024;
