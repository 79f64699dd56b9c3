// Docker's own share of a server's start: a throwaway container of the Prosody image (running
// `sleep`, so Prosody's start is not in it) created and started on the tenant network, with the
// four published ports a server has and with none, timed on the empty node and on the full one.
// Each published port is a set of iptables rules and a docker-proxy, and every iptables call
// reads the table, so the difference between the two grows with the ports already published.
import type Docker from 'dockerode';
import { percentile } from '../shared/stats.js';

const SERVER_PORTS = ['5222/tcp', '5223/tcp', '5269/tcp', '5281/tcp'];
const LABEL = 'parley.bench-probe';

export interface DockerStart {
  withPortsMs: number;
  withoutPortsMs: number;
}

async function timedStart(docker: Docker, image: string, network: string, ports: readonly string[]): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['sleep'],
    Cmd: ['infinity'],
    Labels: { [LABEL]: 'true' },
    ExposedPorts: Object.fromEntries(ports.map((port) => [port, {}])),
    HostConfig: { NetworkMode: network, PortBindings: Object.fromEntries(ports.map((port) => [port, [{ HostIp: '127.0.0.1', HostPort: '' }]])) },
  });
  try {
    await container.start();
    return performance.now() - started;
  } finally {
    await container.remove({ force: true });
  }
}

/** The p50 of `samples` starts each way, one at a time. */
export async function timeDockerStart(docker: Docker, image: string, network: string, samples: number): Promise<DockerStart> {
  const withPorts: number[] = [];
  const withoutPorts: number[] = [];
  for (let i = 0; i < samples; i++) {
    withPorts.push(await timedStart(docker, image, network, SERVER_PORTS));
    withoutPorts.push(await timedStart(docker, image, network, []));
  }
  return { withPortsMs: percentile(withPorts, 50), withoutPortsMs: percentile(withoutPorts, 50) };
}

/** Probe containers a killed run left behind. */
export async function removeLeftoverProbes(docker: Docker): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL] } })) await docker.getContainer(c.Id).remove({ force: true });
}
