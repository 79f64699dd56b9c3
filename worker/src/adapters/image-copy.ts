import type Docker from 'dockerode';
import { statusOf } from './docker.container-runtime.js';

/**
 * Makes `image` present on `target`, copied from `source` (docker save → load) when it is not:
 * Parley builds its images without a registry, so a node gets them from the manager's engine.
 * Copies of one image into one engine at once share one transfer.
 */
export class ImageCopier {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly source: Docker) {}

  ensure(target: Docker, targetName: string, image: string): Promise<void> {
    const key = `${targetName}\u0000${image}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.copyUnlessPresent(target, targetName, image).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async copyUnlessPresent(target: Docker, targetName: string, image: string): Promise<void> {
    try {
      await target.getImage(image).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    const archive = await this.source.getImage(image).get();
    const response = await target.loadImage(archive, { quiet: true });
    await new Promise<void>((resolve, reject) => {
      target.modem.followProgress(response, (error: Error | null, output: { errorDetail?: { message?: string } }[]) => {
        const failure = error?.message ?? output.find((line) => line.errorDetail)?.errorDetail?.message;
        if (failure) reject(new Error(`copying image ${image} to node ${targetName}: ${failure}`));
        else resolve();
      });
    });
    await target.getImage(image).inspect();
  }
}
