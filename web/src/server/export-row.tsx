import { apiUrl } from '../api/client.js';
import type { ServerExport } from '../api/types.js';
import { counted, formatBytes, formatDateTime } from '../ui/format.js';
import { expiryWords, exportStatus, isDownloadable } from './exports.js';
import { WorkStatus } from './work-status.js';

export function ExportRow({ serverId, item, now }: { serverId: string; item: ServerExport; now: number }) {
  const when = formatDateTime(item.requestedAt);
  return (
    <tr>
      <td data-label="Asked for">{when}</td>
      <td data-label="Status">
        <WorkStatus status={exportStatus(item, now)} />
      </td>
      <td data-label="Users">{item.userCount === null ? '—' : counted(item.userCount, 'user')}</td>
      <td data-label="Size">{item.sizeBytes === null ? '—' : formatBytes(item.sizeBytes)}</td>
      <td data-label="Download until">{expiryWords(item, now)}</td>
      <td>
        {/* A plain link: the browser sends the session cookie with it and saves the API's attachment. */}
        {isDownloadable(item, now) ? (
          <a className="button button-small" href={apiUrl(`/servers/${serverId}/exports/${item.id}/download`)} download aria-label={`Download the export of ${when}`}>
            Download
          </a>
        ) : null}
      </td>
    </tr>
  );
}
