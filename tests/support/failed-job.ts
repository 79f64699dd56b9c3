import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * Adds a job to `queueName` and fails it the way a worker does when its processor throws: taken
 * with a lock token, then moved to failed (BullMQ's manual processing, its own failure path).
 * Pushed to the head of the queue (lifo), it is the job taken, so jobs others queued are left
 * alone. Resolves with its id.
 */
export async function failedJob(redisUrl: string, queueName: string, job: { name: string; data: object; reason: string }): Promise<string> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  const workerConnection = connection.duplicate();
  const worker = new Worker(queueName, null, { connection: workerConnection });
  try {
    const added = await queue.add(job.name, job.data, { jobId: `test-failed.${randomUUID()}`, lifo: true, attempts: 1 });
    const token = randomUUID();
    const taken = await worker.getNextJob(token);
    if (!taken || taken.id !== added.id) throw new Error(`expected to take job ${added.id}, took ${taken?.id ?? 'none'}`);
    await taken.moveToFailed(new Error(job.reason), token);
    return taken.id ?? '';
  } finally {
    await worker.close();
    await queue.close();
    workerConnection.disconnect();
    connection.disconnect();
  }
}
