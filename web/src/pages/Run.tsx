import { useMemo } from 'react';
import type { List, Reject, RunRecord } from '../lib/api.js';
import { apiUrl } from '../lib/api.js';
import { formatCount, formatDuration, formatInstant, plural } from '../lib/format.js';
import { intParam, type QueryState } from '../lib/query.js';
import { Chart } from '../components/Chart.js';
import { ListTable } from '../components/ListTable.js';
import { Async, Empty, ErrorBox, StatusBadge } from '../components/States.js';
import { Link } from '../router.js';
import { useApi } from '../useApi.js';

const PAGE = 50;

function Steps({ steps }: { steps: Record<string, number> }) {
  const entries = Object.entries(steps);
  const option = useMemo(
    () => ({
      animation: false,
      grid: { left: 90, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value', name: 'ms', nameLocation: 'end' },
      yAxis: { type: 'category', data: entries.map(([k]) => k), inverse: true },
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatDuration(typeof v === 'number' ? v : null) },
      series: [
        {
          type: 'bar',
          name: 'duration',
          data: entries.map(([, v]) => v),
          itemStyle: { color: '#5c6bc0' },
          label: { show: true, position: 'right', formatter: (p: { value: number }) => formatDuration(p.value) },
        },
      ],
    }),
    [entries],
  );
  if (entries.length === 0) return <Empty>No step timings were recorded.</Empty>;
  return <Chart option={option} height={Math.max(120, entries.length * 34 + 40)} testId="steps-chart" label="time per step" />;
}

function Rejects({ q, runId }: { q: QueryState; runId: number }) {
  const offset = intParam(q.offset, 0);
  const rejects = useApi<List<Reject>>(apiUrl('/rejects', { run: runId, limit: PAGE, offset }));
  return (
    <ListTable
      state={rejects}
      what="rejects"
      empty="This run rejected nothing."
      testId="rejects-table"
      paging={{ q, limit: PAGE, offset }}
      intro={(d) => <p className="muted">{plural(d.total, 'reject')}</p>}
      head={
        <>
          <th>File</th>
          <th className="num">Row</th>
          <th>Field</th>
          <th>Value</th>
          <th>Reason</th>
        </>
      }
      row={(r, i) => (
        <tr key={`${offset + i}`} className={r.whole_record ? 'whole' : ''}>
          <td className="mono">
            {r.file}
            {r.sheet ? ` [${r.sheet}]` : ''}
          </td>
          <td className="num">{r.row ?? '—'}</td>
          <td>{r.field ?? <span className="muted">(record)</span>}</td>
          <td className="mono">{r.value ?? '—'}</td>
          <td>{r.reason}</td>
        </tr>
      )}
    />
  );
}

export function RunPage({ q }: { q: QueryState }) {
  const id = intParam(q.id, -1, 1);
  const run = useApi<RunRecord>(id > 0 ? `/dashboard/runs/${id}` : null);
  if (id < 1) return <ErrorBox message={`"${q.id ?? ''}" is not a run id`} />;
  return (
    <>
      <p className="crumbs">
        <Link to={{ page: 'runs' }}>Runs</Link> › #{id}
      </p>
      <Async state={run} what={`run ${id}`}>
        {(r) => (
          <>
            <h1>
              Run #{r.run_id} <StatusBadge status={r.status} warnings={r.warnings} />
            </h1>
            {r.error ? <ErrorBox message={r.error} /> : null}
            {r.warnings && r.warnings.length > 0 ? (
              <ul className="run-warnings" data-testid="run-warnings">
                {r.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            ) : null}
            <div className="stats">
              <Stat label="Pipeline" value={r.pipeline} />
              <Stat label="Partition" value={r.partition || 'ad hoc'} />
              <Stat label="Trigger" value={`${r.trigger}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`} />
              <Stat label="Started" value={formatInstant(r.started_at)} />
              <Stat label="Duration" value={formatDuration(r.duration_ms)} />
              <Stat
                label="Files"
                value={`${formatCount(r.files)} (+${formatCount(r.files_skipped)} seen${r.files_deferred ? `, ${formatCount(r.files_deferred)} left for later` : ''})`}
                warn={(r.files_deferred ?? 0) > 0}
              />
              <Stat label="Rows read" value={formatCount(r.rows_read)} />
              <Stat label="Rows written" value={formatCount(r.rows_written)} />
              <Stat label="Records rejected" value={formatCount(r.rows_rejected)} warn={r.rows_rejected > 0} />
              <Stat label="Values nulled" value={formatCount(r.values_rejected)} warn={r.values_rejected > 0} />
            </div>
            <h2>Steps</h2>
            {r.steps ? <Steps steps={r.steps} /> : <Empty>No step timings were recorded.</Empty>}
            <h2>Rejects</h2>
            <Rejects q={q} runId={r.run_id} />
          </>
        )}
      </Async>
    </>
  );
}

function Stat({ label, value, warn }: { label: string; value: string; warn?: boolean }) {
  return (
    <div className={`stat${warn ? ' warn' : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}
