import { ago, formatBytes } from '../ui/format.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { CapacityMeter } from './capacity-meter.js';
import { MIB, percent } from './capacity.js';
import type { NodeCapacity } from './operator-types.js';

function MemoryCell({ node }: { node: NodeCapacity }) {
  const committed = node.committedMemoryMiB * MIB;
  if (!node.memory) return <>{formatBytes(committed)} committed; the host has not reported.</>;
  const { totalBytes, availableBytes } = node.memory;
  return (
    <>
      <CapacityMeter label={`Memory committed on ${node.name}`} used={committed} total={totalBytes} />{' '}
      <span className="block">
        {formatBytes(committed)} committed of {formatBytes(totalBytes)} ({percent(committed, totalBytes)}); {formatBytes(availableBytes)} available now
      </span>
    </>
  );
}

function DiskCell({ node }: { node: NodeCapacity }) {
  if (!node.disk) return <>Not reported</>;
  const { totalBytes, freeBytes } = node.disk;
  return (
    <>
      <CapacityMeter label={`Disk used on ${node.name}`} used={totalBytes - freeBytes} total={totalBytes} />{' '}
      <span className="block">
        {formatBytes(freeBytes)} free of {formatBytes(totalBytes)} ({percent(totalBytes - freeBytes, totalBytes)} used)
      </span>
    </>
  );
}

/** Each node's capacity: servers placed, the memory their plans commit against the host's, disk and ports. */
export function NodesSection({ nodes, now }: { nodes: NodeCapacity[]; now: number }) {
  return (
    <section className="card stack" aria-labelledby="operator-nodes">
      <h2 id="operator-nodes">Nodes</h2>
      {nodes.length === 0 ? (
        <p className="hint">No node has registered yet: a node appears once its worker starts.</p>
      ) : (
        <ScrollTable label="Nodes and their capacity">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Servers</th>
              <th scope="col">Memory</th>
              <th scope="col">Disk</th>
              <th scope="col">Ports free</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((node) => (
              <tr key={node.id}>
                <td data-label="Node">
                  <strong>{node.name}</strong>
                  {node.state === 'draining' ? <> <span className="badge badge-warn">Draining</span></> : null}
                  {node.state === 'removed' ? <> <span className="badge">Removed</span></> : null}
                  <span className="block hint">{node.reportedAt ? `Reported ${ago(node.reportedAt, now)}` : 'No report in the last 15 seconds'}</span>
                </td>
                <td data-label="Servers">{node.servers}</td>
                <td data-label="Memory">
                  <MemoryCell node={node} />
                </td>
                <td data-label="Disk">
                  <DiskCell node={node} />
                </td>
                <td data-label="Ports free">{node.portsFree}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </section>
  );
}
