import { spawn } from 'node:child_process';
import { childExit, type ChildExit } from './child-exit.js';
import { StunTurnError, type StunBinding, type StunTurnClient, type StunTurnServer, type TurnRelay } from '../ports/stun-turn-client.js';

// coturn's own test clients (Debian's coturn package), run as child processes: they speak the
// protocols exactly as coturn expects, and neither has a timeout of its own (a STUN server that
// never answers leaves turnutils_stunclient waiting), so each is killed at its deadline.

/** The reflexive address turnutils_stunclient prints, or undefined. */
export function parseStunClientOutput(output: string): StunBinding | undefined {
  const address = /UDP reflexive addr: (\d{1,3}(?:\.\d{1,3}){3}:\d{1,5})/.exec(output)?.[1];
  return address === undefined ? undefined : { reflexiveAddress: address };
}

/** What turnutils_uclient in client-to-client mode reports: the relay it got and its message totals. */
export function parseUclientOutput(output: string): TurnRelay | undefined {
  const relayed = /Received relay addr: (\d{1,3}(?:\.\d{1,3}){3}:\d{1,5})/.exec(output)?.[1];
  // Printed as it goes (0 and 0 first): the last line has the totals.
  const totals = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1);
  if (relayed === undefined || !totals) return undefined;
  return { relayedAddress: relayed, sent: Number(totals[1]), received: Number(totals[2]) };
}

async function run(command: string, args: string[], timeoutMs: number): Promise<ChildExit & { killed: boolean }> {
  const started = Date.now();
  let exit: ChildExit;
  try {
    exit = await childExit(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }), { timeoutMs });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StunTurnError('tool_missing', `${command} is not installed (Debian's coturn package)`);
    throw error;
  }
  // Killed at the deadline: no exit code, and the time is up.
  return { ...exit, killed: exit.code === null && Date.now() - started >= timeoutMs };
}

const tail = (text: string) => text.trim().split('\n').slice(-3).join(' | ').slice(0, 300);

export class TurnutilsStunTurnClient implements StunTurnClient {
  async binding(server: StunTurnServer, timeoutMs: number): Promise<StunBinding> {
    const exit = await run('turnutils_stunclient', ['-p', String(server.port), server.host], timeoutMs);
    const binding = parseStunClientOutput(exit.stdout + exit.stderr);
    if (binding) return binding;
    if (exit.killed) throw new StunTurnError('no_answer', `no STUN answer from ${server.host}:${server.port} within ${timeoutMs} ms`);
    throw new StunTurnError('refused', `STUN binding with ${server.host}:${server.port} failed: ${tail(exit.stdout + exit.stderr)}`);
  }

  async relay(server: StunTurnServer, credentials: { username: string; password: string }, timeoutMs: number): Promise<TurnRelay> {
    // -y: two allocations relay to each other (no outside peer needed); -c: no RTCP channel; -n 3
    // messages each; -v prints the relayed address.
    const args = ['-p', String(server.port), '-u', credentials.username, '-w', credentials.password, '-y', '-n', '3', '-c', '-v', server.host];
    const exit = await run('turnutils_uclient', args, timeoutMs);
    const relay = parseUclientOutput(exit.stdout + exit.stderr);
    if (relay) return relay;
    if (exit.killed) throw new StunTurnError('no_answer', `no TURN relay with ${server.host}:${server.port} within ${timeoutMs} ms`);
    throw new StunTurnError('refused', `TURN allocation with ${server.host}:${server.port} failed: ${tail(exit.stdout + exit.stderr)}`);
  }
}
