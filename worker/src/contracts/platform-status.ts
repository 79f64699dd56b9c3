import type { WorkerDependency } from './worker-health.js';

/**
 * The parts of the platform the public status page shows, in its order. The codes are stored
 * (platform_incidents.component) and read by the API: a new one is added here, never renamed.
 */
export const PLATFORM_COMPONENTS = ['containers', 'api', 'worker', 'dns', 'certificates'] as const;
export type PlatformComponent = (typeof PLATFORM_COMPONENTS)[number];

/** The public component each dependency the worker checks stands for. */
export const WORKER_DEPENDENCY_COMPONENTS: Record<WorkerDependency, PlatformComponent> = {
  docker: 'containers',
  dns: 'dns',
  ca: 'certificates',
};
