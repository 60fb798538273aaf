import { useMemo } from 'react';
import type { ApiGet, PipelineOverview } from '../lib/api.js';
import { formatCount, formatDuration, formatInstant, formatRelative, plural, statusColor } from '../lib/format.js';
import { isTimeZone } from '../lib/zone.js';
import { Chart } from '../components/Chart.js';
import { Async, Empty, StatusBadge } from '../components/States.js';
import { WEB_PIPELINES } from '../pipelines/index.js';
import { Link } from '../router.js';
import { useApi } from '../useApi.js';

function Sparkline({ p }: { p: PipelineOverview }) {
  const option = useMemo(
    () => ({
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 2 },
      xAxis: { type: 'category', show: false, data: p.recent.map((r) => r.run_id) },
      yAxis: { type: 'value', show: false, min: 0 },
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatDuration(typeof v === 'number' ? v : null) },
      series: [
        {
          type: 'line',
          name: 'duration',
          smooth: false,
          symbolSize: 5,
          data: p.recent.map((r) => ({ value: r.duration_ms, itemStyle: { color: statusColor(r.status, r.warnings) } })),
          lineStyle: { color: '#90a4ae', width: 1.5 },
          areaStyle: { color: 'rgba(144,164,174,0.15)' },
        },
      ],
    }),
    [p.recent],
  );
  if (p.recent.length === 0) return <div className="spark-empty">no runs yet</div>;
  return <Chart option={option} height={48} testId={`spark-${p.name}`} label={`durations of the last ${p.recent.length} ${p.name} runs`} />;
}

/**
 * The next tick in the schedule's own zone, the way its cron reads ("0 0 * * *" Europe/Paris is 00:00
 * there, not the 23:00 UTC it is shown as elsewhere), with UTC beside it.
 */
function scheduleTime(iso: string, zone: string): string {
  if (Number.isNaN(Date.parse(iso)) || !isTimeZone(zone) || zone === 'UTC') return formatInstant(iso);
  return `${formatInstant(iso, zone)} · ${formatInstant(iso)}`;
}

function PipelineCard({ p }: { p: PipelineOverview }) {
  const last = p.last_run;
  // The card is the server's; its pages are the dashboard's registry's (none for a pipeline it does not know).
  const pages = WEB_PIPELINES.find((w) => w.name === p.name)?.nav ?? [];
  return (
    <section className="card pipeline" data-testid={`pipeline-${p.name}`} style={{ borderTopColor: statusColor(last?.status, last?.warnings) }}>
      <header>
        <h2>{p.name}</h2>
        {last ? <StatusBadge status={last.status} warnings={last.warnings} /> : <span className="badge">never run</span>}
      </header>
      <p className="muted">{p.description}</p>
      <dl className="facts">
        <dt>Schedule</dt>
        <dd>
          <code>{p.schedule.cron}</code> {p.schedule.timezone}
          {p.schedule.enabled ? '' : ' (disabled)'}
        </dd>
        <dt>Last run</dt>
        <dd>
          {last ? (
            <>
              <Link to={{ page: 'run', id: last.run_id }}>#{last.run_id}</Link>
              <span data-testid={`last-run-${p.name}`} title={formatInstant(last.started_at)}>
                {' '}
                · started {formatRelative(last.started_at)}
              </span>
            </>
          ) : (
            '—'
          )}
          {last ? <span className="muted"> · {formatDuration(last.duration_ms)}</span> : null}
        </dd>
        <dt>Rows</dt>
        <dd>
          {last ? (
            <>
              {formatCount(last.rows_written)} written ·{' '}
              <span className={last.rows_rejected + last.values_rejected > 0 ? 'warn' : ''}>
                {plural(last.rows_rejected, 'record')} rejected, {plural(last.values_rejected, 'value')} nulled
              </span>
            </>
          ) : (
            '—'
          )}
        </dd>
        <dt>Next run</dt>
        <dd title={formatInstant(p.next_run_at)} data-testid={`next-run-${p.name}`}>
          {p.next_run_at ? `${scheduleTime(p.next_run_at, p.schedule.timezone)} (${formatRelative(p.next_run_at)})` : 'not scheduled'}
        </dd>
        <dt>Runs</dt>
        <dd>
          <Link to={{ page: 'runs', pipeline: p.name }}>{formatCount(p.runs_total)} in history</Link>
        </dd>
        {pages.length > 0 ? (
          <>
            <dt>Pages</dt>
            <dd data-testid={`pages-${p.name}`}>
              {pages.map((n, i) => (
                <span key={n.page}>
                  {i > 0 ? ' · ' : ''}
                  <Link to={{ page: n.page }}>{n.label}</Link>
                </span>
              ))}
            </dd>
          </>
        ) : null}
      </dl>
      <h3>Run durations</h3>
      <Sparkline p={p} />
      <h3>Datasets</h3>
      <table className="compact">
        <tbody>
          {p.datasets.map((d) => (
            <tr key={d.name}>
              <td>{d.name}</td>
              <td className="num" data-testid={`dataset-${d.name}`}>
                {d.rows === null ? <span className="muted">not created</span> : formatCount(d.rows)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function OverviewPage() {
  const state = useApi<ApiGet<'/dashboard/overview'>>('/dashboard/overview');
  return (
    <>
      <h1>Overview</h1>
      <Async state={state} what="pipelines">
        {(d) =>
          d.pipelines.length === 0 ? (
            <Empty>No pipeline is configured on this server.</Empty>
          ) : (
            <div className="cards">
              {d.pipelines.map((p) => (
                <PipelineCard key={p.name} p={p} />
              ))}
            </div>
          )
        }
      </Async>
    </>
  );
}
