import type { ApiGet } from '../lib/api.js';
import { apiUrl } from '../lib/api.js';
import { formatCount, formatDuration, formatInstant } from '../lib/format.js';
import { intParam, type QueryState } from '../lib/query.js';
import { ListTable } from '../components/ListTable.js';
import { StatusBadge } from '../components/States.js';
import { Link, update } from '../router.js';
import { useApi } from '../useApi.js';

const STATUSES = ['succeeded', 'failed', 'running', 'cancelled'];
const PAGE = 25;

export function RunsPage({ q }: { q: QueryState }) {
  const offset = intParam(q.offset, 0);
  const pipelines = useApi<ApiGet<'/pipelines'>>('/pipelines');
  const runs = useApi<ApiGet<'/runs'>>(apiUrl('/runs', { pipeline: q.pipeline, status: q.status, from: q.from, to: q.to, limit: PAGE, offset }));
  const set = (changes: Record<string, string | undefined>) => update(q, { ...changes, offset: undefined });
  return (
    <>
      <h1>Runs</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Pipeline
          <select name="pipeline" value={q.pipeline ?? ''} onChange={(e) => set({ pipeline: e.target.value || undefined })}>
            <option value="">all</option>
            {pipelines.status === 'ok' && pipelines.data.items.map((p) => <option key={p.name}>{p.name}</option>)}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={q.status ?? ''} onChange={(e) => set({ status: e.target.value || undefined })}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Partition from
          <input type="date" name="from" value={q.from ?? ''} onChange={(e) => set({ from: e.target.value || undefined })} />
        </label>
        <label>
          to
          <input type="date" name="to" value={q.to ?? ''} onChange={(e) => set({ to: e.target.value || undefined })} />
        </label>
      </form>
      <ListTable
        state={runs}
        what="runs"
        empty="No run matches these filters."
        testId="runs-table"
        paging={{ q, limit: PAGE, offset }}
        head={
          <>
            <th>Run</th>
            <th>Pipeline</th>
            <th>Status</th>
            <th>Partition</th>
            <th>Started</th>
            <th className="num">Duration</th>
            <th className="num">Written</th>
            <th className="num" title="records rejected whole">
              Rejected
            </th>
            <th className="num" title="values set to null, their record kept">
              Nulled
            </th>
          </>
        }
        row={(r) => (
          <tr key={r.run_id}>
            <td>
              <Link to={{ page: 'run', id: r.run_id }}>#{r.run_id}</Link>
            </td>
            <td>{r.pipeline}</td>
            <td>
              <StatusBadge status={r.status} warnings={r.warnings} />
            </td>
            <td>{r.partition || <span className="muted">ad hoc</span>}</td>
            <td>{formatInstant(r.started_at)}</td>
            <td className="num">{formatDuration(r.duration_ms)}</td>
            <td className="num">{formatCount(r.rows_written)}</td>
            {/* Apart: "60 rejected" next to "60 written" read as 60 records lost when they were 60 values nulled. */}
            <td className={`num${r.rows_rejected > 0 ? ' warn' : ''}`}>{formatCount(r.rows_rejected)}</td>
            <td className={`num${r.values_rejected > 0 ? ' warn' : ''}`}>{formatCount(r.values_rejected)}</td>
          </tr>
        )}
      />
    </>
  );
}
