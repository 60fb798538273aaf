import { useMemo } from 'react';
import type { List } from '../../lib/api.js';
import type { Report, Station, StationStat } from './api.js';
import { apiUrl } from '../../lib/api.js';
import { formatCount, formatNumber, formatValue } from '../../lib/format.js';
import { isDay, nextDay, type QueryState } from '../../lib/query.js';
import { SERVER_DEFAULT_ZONE, browserZone, dayInZone, dayStart, formatWallClock, isTimeZone, toWallClock } from '../../lib/zone.js';
import { countValues, STATION_MAX_POINTS, timeSeries } from '../../lib/series.js';
import { axisLabel } from '../../lib/units.js';
import { STATION_CHARTS, STATION_MEASURES } from './units.js';
import { Chart } from '../../components/Chart.js';
import { Async, Empty, ErrorBox, Loading } from '../../components/States.js';
import { Link, update } from '../../router.js';
import { useApi } from '../../useApi.js';

/** Downsampled on the server (lib/series STATION_MAX_POINTS). */
const MAX_POINTS = STATION_MAX_POINTS;

const COLORS = ['#d84315', '#1565c0'];

/** One chart's tooltip: the wall-clock time in the chart's zone, then each series' value. */
function tooltipFormatter(zone: string, unit: string, decimals: number) {
  return (params: unknown): string => {
    const items = (Array.isArray(params) ? params : [params]) as Array<{ value: [number, number | null]; marker: string; seriesName: string }>;
    const first = items[0];
    if (!first) return '';
    const lines = items.map((p) => `${p.marker}${escapeHtml(p.seriesName)} <strong>${formatValue(p.value[1], unit, decimals)}</strong>`);
    return [`${formatWallClock(first.value[0])} <span style="color:#66707c">${escapeHtml(zone)}</span>`, ...lines].join('<br>');
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/**
 * A station chart, drawn in `zone`: instants are shifted to the zone's wall clock and ECharts is told to
 * use UTC, so axis and tooltip read as local time there (never silently the browser's). `span` is the
 * chosen days, as wall-clock ms: the axis spans them whole, so a missing start or end of day shows.
 */
function SeriesChart({
  rows,
  chart,
  zone,
  span,
}: {
  rows: Array<Record<string, unknown>>;
  chart: (typeof STATION_CHARTS)[number];
  zone: string;
  span: { min: number; max: number } | null;
}) {
  const series = useMemo(
    () => chart.measures.map((m) => ({ m, data: timeSeries(rows, m).map(([t, v]): [number, number | null] => [toWallClock(t, zone), v]) })),
    [rows, chart, zone],
  );
  const option = useMemo(
    () => ({
      animation: false,
      useUTC: true,
      grid: { left: 55, right: 20, top: 30, bottom: 55 },
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis',
        className: 'chart-tooltip',
        formatter: tooltipFormatter(zone, chart.unit, STATION_MEASURES[chart.measures[0] ?? '']?.decimals ?? 1),
      },
      // The window's end (next midnight) would label a day not shown, cut at the edge.
      xAxis: { type: 'time', min: span?.min, max: span?.max, axisLabel: { showMaxLabel: span ? false : undefined } },
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
    [series, chart, zone, span],
  );
  const values = series.reduce((n, s) => n + countValues(s.data), 0);
  return (
    <section className="card chart-card">
      <h3>
        {chart.title} <span className="muted">({chart.unit})</span>
      </h3>
      {values === 0 ? (
        <Empty>No {chart.title.toLowerCase()} reported in this window.</Empty>
      ) : (
        <Chart option={option} height={260} testId={`chart-${chart.id}`} label={`${chart.title}, times in ${zone}`} />
      )}
    </section>
  );
}

/** The zones a station can be read in: its own (the default), UTC, and this browser's when it differs. */
function zoneChoices(stationZone: string, shown: string): Array<{ zone: string; label: string }> {
  const out = [{ zone: stationZone, label: `${stationZone} (station)` }];
  const add = (zone: string, label = zone) => {
    if (!out.some((z) => z.zone === zone)) out.push({ zone, label });
  };
  add('UTC');
  add(browserZone(), `${browserZone()} (this browser)`);
  // A zone given in the link (tz=Asia/Tokyo) is shown as chosen.
  add(shown);
  return out;
}

export function StationPage({ q }: { q: QueryState }) {
  const id = q.id ?? '';
  const station = useApi<Station>(id ? `/stations/${encodeURIComponent(id)}` : null);
  // The station's zone, as the server reads it: its own, else the server's default.
  const stationZone = station.status === 'ok' ? (isTimeZone(station.data.timezone) ? station.data.timezone : SERVER_DEFAULT_ZONE) : null;
  const chosenZone = isTimeZone(q.tz) ? q.tz : null;
  const zone = chosenZone ?? stationZone;
  const range = isDay(q.from) && isDay(q.to);
  const needDefault = !isDay(q.date) && !range;
  // Without a day in the URL, show the station's last day with reports (that day in the zone shown).
  const stats = useApi<List<StationStat>>(needDefault ? '/dashboard/stations' : null);
  const lastReport = stats.status === 'ok' ? (stats.data.items.find((s) => s.id === id)?.last_report ?? null) : null;
  const lastDay = lastReport && zone ? dayInZone(lastReport, zone) : null;
  const date = isDay(q.date) ? q.date : range ? undefined : (lastDay ?? undefined);
  // The day is the server's to cut (in the station's zone unless tz says otherwise); a range is cut here.
  const url =
    !id || (needDefault && (stats.status === 'loading' || !zone))
      ? null
      : range
        ? zone
          ? apiUrl(`/stations/${encodeURIComponent(id)}/reports`, {
              from: new Date(dayStart(q.from as string, zone)).toISOString(),
              to: new Date(dayStart(nextDay(q.to as string), zone)).toISOString(),
              max_points: MAX_POINTS,
              limit: 10000,
            })
          : null
        : date
          ? apiUrl(`/stations/${encodeURIComponent(id)}/reports`, { date, tz: chosenZone ?? undefined, max_points: MAX_POINTS, limit: 10000 })
          : null;
  const reports = useApi<List<Report>>(url);
  const firstDay = range ? q.from : date;
  const lastShown = range ? q.to : date;
  const span = useMemo(
    () => (firstDay && lastShown ? { min: Date.parse(`${firstDay}T00:00:00Z`), max: Date.parse(`${nextDay(lastShown)}T00:00:00Z`) } : null),
    [firstDay, lastShown],
  );

  if (!id) return <ErrorBox message="no station given (?page=station&id=…)" />;
  return (
    <>
      <p className="crumbs">
        <Link to={{ page: 'stations' }}>Stations</Link> › {id}
      </p>
      <Async state={station} what={`station ${id}`}>
        {(s) => {
          const shownZone = zone ?? SERVER_DEFAULT_ZONE;
          const own = shownZone === stationZone;
          return (
            <>
              <h1>
                {s.id} {s.name ?? ''}
              </h1>
              <p className="muted">
                {[
                  s.type,
                  s.city,
                  s.latitude !== null && s.longitude !== null ? `${formatNumber(s.latitude, 3)}°, ${formatNumber(s.longitude, 3)}°` : null,
                  s.elevation_m !== null ? `${s.elevation_m} m` : null,
                  s.timezone,
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </p>
              <form className="filters" onSubmit={(e) => e.preventDefault()}>
                <label>
                  Day
                  <input
                    type="date"
                    name="date"
                    value={range ? '' : (date ?? '')}
                    onChange={(e) => update(q, { date: e.target.value || undefined, from: undefined, to: undefined })}
                  />
                </label>
                <span className="muted">or range</span>
                <label>
                  From
                  <input
                    type="date"
                    name="from"
                    value={q.from ?? ''}
                    onChange={(e) => update(q, { from: e.target.value || undefined, to: q.to ?? e.target.value, date: undefined })}
                  />
                </label>
                <label>
                  To
                  <input
                    type="date"
                    name="to"
                    value={q.to ?? ''}
                    onChange={(e) => update(q, { to: e.target.value || undefined, from: q.from ?? e.target.value, date: undefined })}
                  />
                </label>
                <label>
                  Time zone
                  <select name="tz" value={shownZone} onChange={(e) => update(q, { tz: e.target.value === stationZone ? undefined : e.target.value })}>
                    {zoneChoices(stationZone ?? SERVER_DEFAULT_ZONE, shownZone).map((z) => (
                      <option key={z.zone} value={z.zone}>
                        {z.label}
                      </option>
                    ))}
                  </select>
                </label>
              </form>
              <p className="muted zone-note" data-testid="zone-note">
                Days and times in <strong>{shownZone}</strong>
                {own
                  ? s.timezone
                    ? ', the station’s time zone.'
                    : ', the server’s default (the station has no time zone).'
                  : ` (the station’s own is ${stationZone ?? SERVER_DEFAULT_ZONE}).`}
              </p>
              {url === null && stats.status !== 'loading' && !date && !range ? (
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
                    {formatCount(reports.data.items.length)} points
                    {reports.data.items.length >= MAX_POINTS / 2 ? ' (downsampled on the server: min and max per time bucket)' : ''}
                  </p>
                  <div className="chart-grid">
                    {STATION_CHARTS.map((c) => (
                      <SeriesChart key={c.id} rows={reports.data.items} chart={c} zone={shownZone} span={span} />
                    ))}
                  </div>
                </>
              )}
            </>
          );
        }}
      </Async>
    </>
  );
}
