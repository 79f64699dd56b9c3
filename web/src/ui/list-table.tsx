import type { ReactNode } from 'react';
import { ScrollTable } from './scroll-table.js';

interface ListTableProps {
  label: string;
  columns: readonly string[];
  /** Said once the list has been read and holds nothing. */
  empty: string;
  loaded: boolean;
  /** One row each; the last cell holds the row's buttons. */
  children: ReactNode[];
}

/** A list whose rows end in buttons (that column is named for screen readers only), or that it is empty. */
export function ListTable({ label, columns, empty, loaded, children }: ListTableProps) {
  if (children.length === 0) return loaded ? <p className="hint">{empty}</p> : null;
  return (
    <ScrollTable label={label}>
      <thead>
        <tr>
          {columns.map((column) => (
            <th scope="col" key={column}>
              {column}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </ScrollTable>
  );
}
