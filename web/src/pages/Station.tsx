import { useMemo } from 'react';
import type { List, Station, StationStat } from '../lib/api.js';
import { apiUrl } from '../lib/api.js';
import { formatCount, formatValue } from '../lib/format.js';
import { isDay, nextDay, type QueryState } from '../lib/query.js';
import { countValues, STATION_MAX_POINTS, timeSeries } from '../lib/series.js';
import { STATION_CHARTS, STATION_MEASURES, axisLabel } from '../lib/units.js';
import { Chart } from '../components/Chart.js';
import { Async, Empty, ErrorBox, Loading } from '../components/States.js';
import { Link, update } from '../router.js';
import { useApi } from '../useApi.js';

/** Downsampled on the server (lib/series STATION_MAX_POINTS). */
const MAX_POINTS = STATION_MAX_POINTS;

const COLORS = ['#d84315', '#1565c0'];

function SeriesChart({ rows, chart }: { rows: Array<Record<string, unknown>>; chart: (typeof STATION_CHARTS)[number] }) {
  const series = useMemo(() => chart.measures.map((m) => ({ m, data: timeSeries(rows, m) })), [rows, chart]);
  const option = useMemo(
    () => ({
      animation: false,
      grid: { left: 55, right: 20, top: 30, bottom: 55 },
      legend: { top: 0 },
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatValue(typeof v === 'number' ? v : null, chart.unit, STATION_MEASURES[chart.measures[0] ?? '']?.decimals ?? 1) },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: axisLabel('', chart.unit).trim(), scale: chart.kind === 'line' },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      series: series.map(({ m, data }, i) => ({
        type: chart.kind,
        name: STATION_MEASURES[m]?.label ?? m,
        data,
        showSymbol: data.length < 60,
        // Nulls break the line: a gap in the data is a gap on screen.
        connectNulls: false,
        sampling: undefined,
        itemStyle: { color: COLORS[i % COLORS.length] },
        lineStyle: { width: 1.5 },
      })),
    }),
    [series, chart],
  );
  const values = series.reduce((n, s) => n + countValues(s.data), 0);
  return (
    <section className="card chart-card">
      <h3>
        {chart.title} <span className="muted">({chart.unit})</span>
      </h3>
      {values === 0 ? <Empty>No {chart.title.toLowerCase()} reported in this window.</Empty> : <Chart option={option} height={260} testId={`chart-${chart.id}`} label={chart.title} />}
    </section>
  );
}

export function StationPage({ q }: { q: QueryState }) {
  const id = q.id ?? '';
  const station = useApi<Station>(id ? `/stations/${encodeURIComponent(id)}` : null);
  const range = isDay(q.from) && isDay(q.to);
  const needDefault = !isDay(q.date) && !range;
  // Without a day in the URL, show the station's last day with reports.
  const stats = useApi<List<StationStat>>(needDefault ? '/dashboard/stations' : null);
  const lastDay = stats.status === 'ok' ? (stats.data.items.find((s) => s.id === id)?.last_report?.slice(0, 10) ?? null) : null;
  const date = isDay(q.date) ? q.date : range ? undefined : (lastDay ?? undefined);
  const url =
    !id || (needDefault && stats.status === 'loading')
      ? null
      : range
        ? apiUrl(`/stations/${encodeURIComponent(id)}/reports`, { from: `${q.from}T00:00:00Z`, to: `${nextDay(q.to as string)}T00:00:00Z`, max_points: MAX_POINTS, limit: 10000 })
        : date
          ? apiUrl(`/stations/${encodeURIComponent(id)}/reports`, { date, max_points: MAX_POINTS, limit: 10000 })
          : null;
  const reports = useApi<List<Record<string, unknown>>>(url);

  if (!id) return <ErrorBox message="no station given (?page=station&id=…)" />;
  return (
    <>
      <p className="crumbs">
        <Link to={{ page: 'stations' }}>Stations</Link> › {id}
      </p>
      <Async state={station} what={`station ${id}`}>
        {(s) => (
          <>
            <h1>
              {s.id} {s.name ?? ''}
            </h1>
            <p className="muted">
              {[s.type, s.city, s.latitude !== null && s.longitude !== null ? `${s.latitude.toFixed(3)}°, ${s.longitude.toFixed(3)}°` : null, s.elevation_m !== null ? `${s.elevation_m} m` : null, s.timezone].filter(Boolean).join(' · ')}
            </p>
            <form className="filters" onSubmit={(e) => e.preventDefault()}>
              <label>
                Day
                <input type="date" name="date" value={range ? '' : (date ?? '')} onChange={(e) => update(q, { date: e.target.value || undefined, from: undefined, to: undefined })} />
              </label>
              <span className="muted">or range</span>
              <label>
                From
                <input type="date" name="from" value={q.from ?? ''} onChange={(e) => update(q, { from: e.target.value || undefined, to: q.to ?? e.target.value, date: undefined })} />
              </label>
              <label>
                To
                <input type="date" name="to" value={q.to ?? ''} onChange={(e) => update(q, { to: e.target.value || undefined, from: q.from ?? e.target.value, date: undefined })} />
              </label>
            </form>
            {url === null && stats.status !== 'loading' && !date ? (
              <Empty>This station has no report yet.</Empty>
            ) : reports.status === 'loading' ? (
              <Loading what="reports" />
            ) : reports.status === 'error' ? (
              <ErrorBox message={reports.error.message} status={reports.error.status} />
            ) : reports.data.items.length === 0 ? (
              <Empty>No report in this window.</Empty>
            ) : (
              <>
                <p className="muted" data-testid="report-count">
                  {formatCount(reports.data.items.length)} points{reports.data.items.length >= MAX_POINTS / 2 ? ' (downsampled on the server: min and max per time bucket)' : ''}
                </p>
                <div className="chart-grid">
                  {STATION_CHARTS.map((c) => (
                    <SeriesChart key={c.id} rows={reports.data.items} chart={c} />
                  ))}
                </div>
              </>
            )}
          </>
        )}
      </Async>
    </>
  );
}
