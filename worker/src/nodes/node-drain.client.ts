import { NodeAdminError } from './node-admin.js';

/**
 * Asks the API to drain a node (the API audits it and queues the drain's rounds), as an operator
 * with a personal API token. Returns the drain's request id.
 */
export async function requestDrain(apiUrl: string, token: string, name: string, timeoutMs = 15_000): Promise<{ requestId: string; nodeId: string }> {
  const call = async (method: string, path: string) => {
    const response = await fetch(`${apiUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const reason = [body.detail, body.title].find((v): v is string => typeof v === 'string') ?? '';
    if (!response.ok) throw new NodeAdminError('api_refused', `${method} ${path}: ${response.status} ${reason}`.trim());
    return body;
  };
  const { items } = (await call('GET', '/operator/nodes')) as { items: { id: string; name: string }[] };
  const node = items.find((n) => n.name === name);
  if (!node) throw new NodeAdminError('unknown_node', `no node named ${name} is registered (./parley node list)`);
  const { requestId } = (await call('POST', `/operator/nodes/${node.id}/drain`)) as { requestId: string };
  return { requestId, nodeId: node.id };
}
