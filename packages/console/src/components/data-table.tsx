import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  type OnChangeFn,
  type PaginationState,
  type SortingState,
  useReactTable,
} from '@tanstack/react-table';
import { useId, useState } from 'react';

export interface ServerPaging {
  total: number;
  pagination: PaginationState;
  onPaginationChange: OnChangeFn<PaginationState>;
  sorting: SortingState;
  onSortingChange: OnChangeFn<SortingState>;
}

/**
 * A table with single-row selection (the reference's "select a table row, then click the Details
 * button"): click a row or its radio to select it, double-click or Enter to open it. With
 * `server`, sorting and paging are the manager's (the computers list); without, they are local.
 */
export function DataTable<T>(props: {
  label: string;
  data: T[];
  columns: ColumnDef<T, unknown>[];
  rowId: (row: T) => number;
  rowLabel: (row: T) => string;
  selected?: number | null;
  onSelect?: (id: number) => void;
  onOpen?: (id: number) => void;
  server?: ServerPaging;
  empty?: string;
  loading?: boolean;
}) {
  const [localSorting, setLocalSorting] = useState<SortingState>([]);
  const group = useId();
  const table = useReactTable<T>({
    data: props.data,
    columns: props.columns,
    getRowId: (r) => String(props.rowId(r)),
    getCoreRowModel: getCoreRowModel(),
    ...(props.server
      ? {
          manualSorting: true,
          manualPagination: true,
          rowCount: props.server.total,
          state: { sorting: props.server.sorting, pagination: props.server.pagination },
          onSortingChange: props.server.onSortingChange,
          onPaginationChange: props.server.onPaginationChange,
        }
      : {
          getSortedRowModel: getSortedRowModel(),
          state: { sorting: localSorting },
          onSortingChange: setLocalSorting,
        }),
    enableSortingRemoval: false,
  });
  const selectable = props.onSelect !== undefined;
  const s = props.server;
  const pageCount = s ? Math.max(1, Math.ceil(s.total / s.pagination.pageSize)) : 1;
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label={props.label} aria-busy={props.loading ? 'true' : undefined}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {selectable ? (
                <th className="col-select">
                  <span className="visually-hidden">Select</span>
                </th>
              ) : null}
              {hg.headers.map((h) => {
                const sorted = h.column.getIsSorted();
                const canSort = h.column.getCanSort();
                return (
                  <th
                    key={h.id}
                    aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                  >
                    {canSort ? (
                      <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                        {flexRender(h.column.columnDef.header, h.getContext())}
                        <span aria-hidden="true" className="sort-mark">
                          {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : '↕'}
                        </span>
                      </button>
                    ) : (
                      flexRender(h.column.columnDef.header, h.getContext())
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.length === 0 ? (
            <tr>
              <td className="empty" colSpan={props.columns.length + (selectable ? 1 : 0)}>
                {props.loading ? 'Loading…' : (props.empty ?? 'Nothing to show.')}
              </td>
            </tr>
          ) : (
            table.getRowModel().rows.map((row) => {
              const id = props.rowId(row.original);
              const isSelected = props.selected === id;
              return (
                <tr
                  key={row.id}
                  aria-selected={selectable ? isSelected : undefined}
                  className={isSelected ? 'selected' : undefined}
                  onClick={() => props.onSelect?.(id)}
                  onDoubleClick={() => props.onOpen?.(id)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && props.onOpen) props.onOpen(id);
                  }}
                >
                  {selectable ? (
                    <td className="col-select">
                      <input
                        type="radio"
                        name={group}
                        checked={isSelected}
                        aria-label={`Select ${props.rowLabel(row.original)}`}
                        onChange={() => props.onSelect?.(id)}
                      />
                    </td>
                  ) : null}
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                  ))}
                </tr>
              );
            })
          )}
        </tbody>
      </table>
      {s ? (
        <nav className="pager" aria-label={`${props.label} pages`}>
          <span>
            {s.total === 0
              ? 'No items'
              : `${s.pagination.pageIndex * s.pagination.pageSize + 1}–${Math.min(
                  s.total,
                  (s.pagination.pageIndex + 1) * s.pagination.pageSize,
                )} of ${s.total.toLocaleString()}`}
          </span>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => table.firstPage()}
            disabled={!table.getCanPreviousPage()}
          >
            First
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => table.previousPage()}
            disabled={!table.getCanPreviousPage()}
          >
            Previous
          </button>
          <span>
            Page {s.pagination.pageIndex + 1} of {pageCount.toLocaleString()}
          </span>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => table.nextPage()}
            disabled={!table.getCanNextPage()}
          >
            Next
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => table.lastPage()}
            disabled={!table.getCanNextPage()}
          >
            Last
          </button>
        </nav>
      ) : null}
    </div>
  );
}
