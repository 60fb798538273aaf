import { useEffect, useMemo } from 'react';
import type { List } from '../../lib/api.js';
import { apiUrl } from '../../lib/api.js';
import { formatDay, formatInstant } from '../../lib/format.js';
import { isDay, type QueryState } from '../../lib/query.js';
import { Chart } from '../../components/Chart.js';
import { Async, Empty, ErrorBox, Loading } from '../../components/States.js';
import { Link, navigate, update } from '../../router.js';
import { useApi } from '../../useApi.js';
import type { EnergyMix, EnergyObservation, EnergyObservations, EnergyRegion, EnergyStat } from './api.js';
import {
  ENERGY_MAX_POINTS,
  FRANCE,
  MAIN_SOURCES,
  PARIS,
  SOURCES,
  STACKED,
  addDays,
  defaultRegion,
  findRegion,
  formatMw,
  formatMwh,
  formatShare,
  incompleteDays,
  latestHour,
  mixRows,
  observedDays,
  pageRange,
  parisDay,
  seriesOf,
  sourceColor,
  sourceLabel,
  stackedSources,
  statsAsObservations,
  statsGrain,
  timeline,
} from './energy.js';

/*
 * The page's own layout, inline: a stylesheet imported here would break the registry's test, which loads
 * the pages in Node (test/web/registry.test.ts), and styles.css is every page's.
 */
const COLUMNS = { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(min(420px, 100%), 1fr))', gap: '1rem', alignItems: 'start' } as const;
const REGIONS = { display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(min(270px, 100%), 1fr))', gap: '0.8rem' } as const;
const SELECTED = { borderColor: '#1565c0', boxShadow: '0 0 0 1px #1565c0' } as const;
const INCOMPLETE = { background: '#fff3e0', color: '#e65100' } as const;

function Swatch({ source }: { source: string }) {
  return (
    <span
      aria-hidden="true"
      style={{ display: 'inline-block', width: '0.7em', height: '0.7em', borderRadius: 2, marginRight: '0.4em', background: sourceColor(source) }}
    />
  );
}

const regionPath = (code: string, what: string) => `/energy/regions/${encodeURIComponent(code)}/${what}`;

/** What both time charts share: Paris wall-clock time drawn as UTC (see energy.ts, `timeline`), zoomable. */
function timeAxes() {
  return {
    animation: false,
    useUTC: true,
    grid: { left: 70, right: 20, top: 40, bottom: 60 },
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatMw(typeof v === 'number' ? v : null) },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', name: 'MW' },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
  };
}

function ProductionChart({ items, bucketSeconds, name }: { items: EnergyObservation[]; bucketSeconds: number | null; name: string }) {
  const option = useMemo(() => {
    const tl = timeline(items, bucketSeconds);
    const layers = stackedSources(items).map((s) => ({
      type: 'line',
      id: s,
      name: SOURCES[s].label,
      stack: 'production',
      data: seriesOf(tl, s),
      connectNulls: false,
      showSymbol: false,
      lineStyle: { width: 0 },
      itemStyle: { color: SOURCES[s].color },
      areaStyle: { color: SOURCES[s].color, opacity: 0.85 },
    }));
    // Drawn over the layers, unstacked: where the line runs above the stack, the region imports.
    const consumption = {
      type: 'line',
      id: 'consumption',
      name: SOURCES.consumption.label,
      data: seriesOf(tl, 'consumption'),
      connectNulls: false,
      showSymbol: false,
      z: 5,
      lineStyle: { width: 2, color: SOURCES.consumption.color },
      itemStyle: { color: SOURCES.consumption.color },
    };
    return { ...timeAxes(), legend: { top: 0, type: 'scroll' }, series: [...layers, consumption] };
  }, [items, bucketSeconds]);
  return <Chart option={option} height={380} testId="energy-production" label={`${name}: production by source and consumption`} />;
}

function ExchangesChart({ items, bucketSeconds, name }: { items: EnergyObservation[]; bucketSeconds: number | null; name: string }) {
  const option = useMemo(() => {
    const tl = timeline(items, bucketSeconds);
    return {
      ...timeAxes(),
      grid: { left: 70, right: 20, top: 20, bottom: 60 },
      series: [
        {
          type: 'bar',
          id: 'exchanges',
          name: 'Exchanges',
          data: seriesOf(tl, 'exchanges'),
          // Imports up in blue, exports down in red: the sign is the direction (negative: the region exports).
          itemStyle: { color: (p: { value?: unknown }) => (Array.isArray(p.value) && Number(p.value[1]) < 0 ? '#e53935' : SOURCES.exchanges.color) },
        },
      ],
    };
  }, [items, bucketSeconds]);
  return <Chart option={option} height={220} testId="energy-exchanges" label={`${name}: physical exchanges (positive: imports)`} />;
}

/** The charts' data: the region's instants, or its hour (day) stats when the server has no instant of it (France). */
function TimeCharts({ region, from, to }: { region: EnergyRegion; from: string; to: string }) {
  const obs = useApi<EnergyObservations>(apiUrl(regionPath(region.code, 'observations'), { from, to, max_points: ENERGY_MAX_POINTS }));
  const noInstants = obs.status === 'ok' && obs.data.items.length === 0;
  const grain = statsGrain(from, to);
  const stats = useApi<List<EnergyStat>>(
    noInstants
      ? apiUrl(regionPath(region.code, 'stats'), { from, to, grain, limit: 10_000, sources: ['consumption', 'exchanges', 'wind', ...STACKED].join(',') })
      : null,
  );
  if (obs.status === 'loading') return <Loading what={`${region.name} observations`} />;
  if (obs.status === 'error') return <ErrorBox message={obs.error.message} status={obs.error.status || undefined} />;
  let items = obs.data.items;
  let bucket = obs.data.bucket_seconds;
  let note: string | null = null;
  if (noInstants) {
    if (stats.status === 'loading') return <Loading what={`${region.name} ${grain} statistics`} />;
    if (stats.status === 'error') return <ErrorBox message={stats.error.message} status={stats.error.status || undefined} />;
    items = statsAsObservations(stats.data.items);
    bucket = grain === 'hour' ? 3600 : 86_400;
    note = `Average power of each ${grain} (the server has no instants of ${region.name}).`;
  }
  if (items.length === 0)
    return (
      <Empty>
        No data for {region.name} from {formatDay(from)} to {formatDay(to)}.
      </Empty>
    );
  return (
    <>
      <h3>Production by source and consumption</h3>
      <ProductionChart items={items} bucketSeconds={bucket} name={region.name} />
      <h3>Exchanges with neighbours</h3>
      <ExchangesChart items={items} bucketSeconds={bucket} name={region.name} />
      <p className="muted small" data-testid="energy-time-note">
        {note ?? 'Times in Europe/Paris.'} Power in MW; exchanges are positive when the region imports.
      </p>
    </>
  );
}

function MixTable({ region, from, to }: { region: EnergyRegion; from: string; to: string }) {
  const mix = useApi<EnergyMix>(apiUrl('/energy/mix', { from, to, region: region.code }));
  return (
    <Async state={mix} what="the mix">
      {(d) => {
        const rows = mixRows(d.items.filter((i) => i.region === region.code));
        if (rows.length === 0) return <Empty>No energy for {region.name} in this period.</Empty>;
        return (
          <div className="table-wrap">
            <table data-testid="mix-table">
              <thead>
                <tr>
                  <th>Source</th>
                  <th className="num">Energy</th>
                  <th className="num">Share of production</th>
                  <th className="num">Share of consumption</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.source} data-source={r.source}>
                    <td>
                      <Swatch source={r.source} />
                      {sourceLabel(r.source)}
                    </td>
                    <td className="num" data-field="energy_mwh">
                      {formatMwh(r.energy_mwh)}
                    </td>
                    <td className="num" data-field="share_of_production">
                      {formatShare(r.share_of_production)}
                    </td>
                    <td className="num" data-field="share_of_consumption">
                      {formatShare(r.share_of_consumption)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </Async>
  );
}

/** Days below 100 %: by the consumption's day rows, the figure every share is computed against. */
function Completeness({ region, from, to }: { region: EnergyRegion; from: string; to: string }) {
  const stats = useApi<List<EnergyStat>>(apiUrl(regionPath(region.code, 'stats'), { from, to, grain: 'day', sources: 'consumption', limit: 1000 }));
  return (
    <Async state={stats} what="completeness">
      {(d) => {
        const days = observedDays(from, to, region);
        const missing = incompleteDays(days, d.items);
        if (days.length === 0) return <Empty>No day of this period has data for {region.name}.</Empty>;
        if (missing.length === 0)
          return (
            <p className="muted" data-testid="completeness-ok">
              Every day of the period is complete (100 %).
            </p>
          );
        return (
          <div className="table-wrap">
            <table data-testid="completeness">
              <thead>
                <tr>
                  <th>Day (Paris)</th>
                  <th className="num">Completeness</th>
                  <th className="num">Samples</th>
                  <th>Nature</th>
                </tr>
              </thead>
              <tbody>
                {missing.map((m) => (
                  <tr key={m.day} data-day={m.day}>
                    <td>{formatDay(m.day)}</td>
                    <td className="num">
                      <span className="badge" style={INCOMPLETE} data-testid="completeness-badge">
                        {formatShare(m.completeness)}
                      </span>
                    </td>
                    <td className="num">{m.samples}</td>
                    <td>{m.nature ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </Async>
  );
}

/** One region's latest hour, read from its hour stats of its last two Paris days (the latest hour may start on the day before, in UTC). */
function RegionCard({ region, q, selected }: { region: EnergyRegion; q: QueryState; selected: boolean }) {
  const last = parisDay(region.last_observed_at);
  const stats = useApi<List<EnergyStat>>(
    last
      ? apiUrl(regionPath(region.code, 'stats'), {
          from: addDays(last, -1),
          to: last,
          grain: 'hour',
          sources: ['consumption', ...MAIN_SOURCES].join(','),
          limit: 1000,
        })
      : null,
  );
  const hour = stats.status === 'ok' ? latestHour(stats.data.items) : null;
  return (
    <section className="card" style={selected ? SELECTED : undefined} data-selected={selected || undefined} data-testid={`region-${region.code}`}>
      <h3 style={{ margin: '0 0 0.2rem' }}>
        <Link to={{ ...q, region: region.code }}>{region.name}</Link>
      </h3>
      {!last ? (
        <p className="muted">no data yet</p>
      ) : stats.status === 'loading' ? (
        <Loading what="latest hour" />
      ) : stats.status === 'error' ? (
        <ErrorBox message={stats.error.message} status={stats.error.status || undefined} />
      ) : !hour ? (
        <p className="muted">no hourly statistics yet</p>
      ) : (
        <>
          <p className="muted small" data-testid="latest-hour">
            {formatInstant(hour.period, PARIS)}
          </p>
          <dl className="facts">
            <dt>Consumption</dt>
            <dd data-source="consumption">{formatMw(hour.consumption?.avg_mw)}</dd>
            {hour.main.map((r) => (
              <FactRow key={r.source} row={r} />
            ))}
          </dl>
        </>
      )}
    </section>
  );
}

function FactRow({ row }: { row: EnergyStat }) {
  return (
    <>
      <dt>
        <Swatch source={row.source} />
        {sourceLabel(row.source)}
      </dt>
      <dd data-source={row.source} style={{ whiteSpace: 'nowrap' }}>
        {formatMw(row.avg_mw)}
        {row.share_of_consumption !== null ? <span className="muted"> · {formatShare(row.share_of_consumption)}</span> : null}
      </dd>
    </>
  );
}

function EnergyView({ q, regions }: { q: QueryState; regions: EnergyRegion[] }) {
  const found = findRegion(regions, q.region);
  // A link naming a region we do not have says so instead of quietly showing another one.
  const unknown = q.region !== undefined && !found ? q.region : null;
  const region = found ?? defaultRegion(regions);
  const today = parisDay(new Date().toISOString()) ?? new Date().toISOString().slice(0, 10);
  const { from, to } = pageRange(q, region, today);
  const complete = q.region !== undefined && q.from === from && q.to === to;
  // Opened without a choice: the defaults go into the URL (replacing it, no history entry), so it is a link as it stands.
  useEffect(() => {
    if (!complete && region && unknown === null) navigate({ ...q, region: region.code, from, to }, true);
  }, [complete, region, unknown, q, from, to]);
  if (!region) return <Empty>No region has energy data yet: run the eco2mix pipeline.</Empty>;
  const set = (changes: Record<string, string | undefined>) => update(q, changes);
  const grid = regions.filter((r) => r.code !== FRANCE);
  return (
    <>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Region
          <select name="region" value={region.code} onChange={(e) => set({ region: e.target.value })}>
            {regions.map((r) => (
              <option key={r.code} value={r.code}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        {/* Moving one end past the other drags it along: the range never runs backwards. */}
        <label>
          From
          <input
            type="date"
            name="from"
            value={from}
            onChange={(e) => {
              const v = e.target.value;
              if (isDay(v)) set({ from: v, to: v > to ? v : to });
            }}
          />
        </label>
        <label>
          To
          <input
            type="date"
            name="to"
            value={to}
            onChange={(e) => {
              const v = e.target.value;
              if (isDay(v)) set({ to: v, from: v < from ? v : from });
            }}
          />
        </label>
      </form>
      <h2 data-testid="energy-title">
        {region.name}, {formatDay(from)}
        {to !== from ? ` – ${formatDay(to)}` : ''}
      </h2>
      {unknown !== null ? (
        <ErrorBox message={`no region "${unknown}" with energy data (known: ${regions.map((r) => `${r.code} ${r.name}`).join(', ')})`} />
      ) : (
        <>
          <TimeCharts region={region} from={from} to={to} />
          <div style={COLUMNS}>
            <section>
              <h3>Mix</h3>
              <MixTable region={region} from={from} to={to} />
            </section>
            <section>
              <h3>Incomplete days</h3>
              <Completeness region={region} from={from} to={to} />
            </section>
          </div>
        </>
      )}
      <h2>Regions, latest hour</h2>
      <p className="muted small">Average power of each region’s latest hour with data; a region’s name opens it with the same dates.</p>
      <div style={REGIONS} data-testid="regions-grid">
        {grid.map((r) => (
          <RegionCard key={r.code} region={r} q={{ ...q, from, to }} selected={r.code === region.code} />
        ))}
      </div>
    </>
  );
}

export function EnergyPage({ q }: { q: QueryState }) {
  const regions = useApi<{ items: EnergyRegion[] }>('/energy/regions');
  return (
    <>
      <h1>Energy</h1>
      <Async state={regions} what="regions">
        {(d) => (d.items.length === 0 ? <Empty>No region has energy data yet: run the eco2mix pipeline.</Empty> : <EnergyView q={q} regions={d.items} />)}
      </Async>
    </>
  );
}
