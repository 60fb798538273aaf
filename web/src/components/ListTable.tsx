import type { ReactNode } from 'react';
import type { List } from '../lib/api.js';
import type { QueryState } from '../lib/query.js';
import { update } from '../router.js';
import type { ApiState } from '../useApi.js';
import { Async, Empty, Pager } from './States.js';

/** The page of a list being shown; the pager writes the next offset into the URL (so back and links keep it). */
export interface Paging {
  q: QueryState;
  limit: number;
  offset: number;
}

/**
 * A fetched list as a table: loading and error states, `empty` when it has no item, else `intro`, the table
 * (`head` is the header row's cells, `row` renders one `<tr>` with its key) and, with `paging`, a pager.
 */
export function ListTable<T>({
  state,
  what,
  empty,
  testId,
  head,
  row,
  intro,
  paging,
}: {
  state: ApiState<List<T>>;
  what: string;
  empty: ReactNode;
  testId: string;
  head: ReactNode;
  row: (item: T, index: number) => ReactNode;
  intro?: (list: List<T>) => ReactNode;
  paging?: Paging;
}) {
  return (
    <Async state={state} what={what}>
      {(d) =>
        d.items.length === 0 ? (
          <Empty>{empty}</Empty>
        ) : (
          <>
            {intro?.(d)}
            <div className="table-wrap">
              <table data-testid={testId}>
                <thead>
                  <tr>{head}</tr>
                </thead>
                <tbody>{d.items.map((item, i) => row(item, i))}</tbody>
              </table>
            </div>
            {paging ? (
              <Pager total={d.total} limit={paging.limit} offset={paging.offset} onChange={(o) => update(paging.q, { offset: o || undefined })} />
            ) : null}
          </>
        )
      }
    </Async>
  );
}
