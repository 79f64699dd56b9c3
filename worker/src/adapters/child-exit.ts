import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/** How a child process ended, with what it printed. */
export interface ChildExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Waits for the child to exit, keeping what it printed (stdout only when `keepStdout`: not when
 * it carries data someone else reads), killing it after `timeoutMs` when one is given.
 */
export function childExit(child: ChildProcessWithoutNullStreams, options: { timeoutMs?: number; keepStdout?: boolean } = {}): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    if (options.keepStdout !== false) child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `stream` (feeding or draining the child's data) while waiting for the child to exit, and
 * resolves with how it exited. A child that failed is the caller's to report, before whatever
 * the broken pipe made `stream` throw; a child that succeeded with a stream that failed rethrows.
 */
export async function exitAfterStreaming(child: ChildProcessWithoutNullStreams, stream: () => Promise<void>): Promise<ChildExit> {
  const [streamed, exited] = await Promise.allSettled([stream(), childExit(child, { keepStdout: false })]);
  if (exited.status === 'rejected') throw exited.reason;
  if (exited.value.code === 0 && streamed.status === 'rejected') throw streamed.reason;
  return exited.value;
}
