import type Docker from 'dockerode';
import type { ContainerRuntime } from '../ports/container-runtime.js';

export class DockerContainerRuntime implements ContainerRuntime {
  constructor(private readonly docker: Docker) {}

  async ping(): Promise<string> {
    const version = await this.docker.version();
    return `Docker ${version.Version} (API ${version.ApiVersion})`;
  }
}
