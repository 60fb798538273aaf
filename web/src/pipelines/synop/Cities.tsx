import { useMemo } from 'react';
import type { List } from '../../lib/api.js';
import type { City, CityDay } from './api.js';
import { apiUrl } from '../../lib/api.js';
import { cityKey, cityName, findCity } from './cities.js';
import { formatDay, formatValue } from '../../lib/format.js';
import { intParam, type QueryState } from '../../lib/query.js';
import { alignDays, dataMonths, daySeries, daysBetween, extreme, minMaxBand, monthEnd } from '../../lib/series.js';
import { CITY_METRICS, isCityMetric, type CityMetric } from './metrics.js';
import { Chart, DECORATION, isDecoration } from '../../components/Chart.js';
import { Async, Empty, ErrorBox, Loading } from '../../components/States.js';
import { update } from '../../router.js';
import { useApi, type ApiState } from '../../useApi.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
type Row = CityDay;

function Callouts({ rows, metric }: { rows: Row[]; metric: CityMetric }) {
  const m = CITY_METRICS[metric];
  // Nulls are missing days and are skipped; a real 0 (°C, mm) counts like any value.
  const hi = extreme(rows, m.max, 'max');
  const lo = m.min && m.minLabel ? extreme(rows, m.min, 'min') : null;
  return (
    <div className="callouts">
      <div className="callout hot" data-testid="callout-max">
        {m.maxLabel}: {hi ? <strong>{formatValue(hi.value, m.unit)}</strong> : '—'} {hi ? `on ${formatDay(hi.at)}` : '(no data)'}
      </div>
      {m.minLabel ? (
        <div className="callout cold" data-testid="callout-min">
          {m.minLabel}: {lo ? <strong>{formatValue(lo.value, m.unit)}</strong> : '—'} {lo ? `on ${formatDay(lo.at)}` : '(no data)'}
        </div>
      ) : null}
    </div>
  );
}

/** Axis tooltip of a daily chart: the day, then each drawn series' value (decorations, such as the band, left out). */
function dayTooltip(unit: string) {
  return (params: unknown): string => {
    const items = (Array.isArray(params) ? params : [params]) as Array<{
      axisValueLabel: string;
      seriesId?: string;
      seriesName: string;
      marker: string;
      value: unknown;
    }>;
    const shown = items.filter((p) => !isDecoration(p.seriesId));
    if (shown.length === 0) return '';
    return [
      shown[0]?.axisValueLabel ?? '',
      ...shown.map((p) => `${p.marker}${p.seriesName} <strong>${formatValue(typeof p.value === 'number' ? p.value : null, unit)}</strong>`),
    ].join('<br>');
  };
}

/** What the daily charts share: one category per day, the metric's unit on the value axis, zoomable. */
function dayAxes(metric: CityMetric, days: string[]) {
  const m = CITY_METRICS[metric];
  return {
    animation: false,
    grid: { left: 55, right: 20, top: 30, bottom: 55 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis', formatter: dayTooltip(m.unit) },
    xAxis: { type: 'category', data: days },
    yAxis: { type: 'value', name: m.unit, scale: metric !== 'rainfall' },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
  };
}

function DailyChart({ rows, metric, days }: { rows: Row[]; metric: CityMetric; days: string[] }) {
  const m = CITY_METRICS[metric];
  const option = useMemo(() => {
    const line = (name: string, field: string, color: string) => ({
      type: metric === 'rainfall' ? 'bar' : 'line',
      name,
      data: alignDays(days, daySeries(rows, field)),
      connectNulls: false,
      showSymbol: days.length <= 62,
      symbolSize: 4,
      itemStyle: { color },
      lineStyle: { width: name === 'avg' ? 2 : 1.2 },
    });
    const series: object[] = [];
    if (m.max)
      series.push(line(metric === 'wind' ? 'gust max' : metric === 'rainfall' ? 'rainfall' : 'max', m.max, metric === 'rainfall' ? '#1e88e5' : '#d84315'));
    if (m.avg) series.push(line('avg', m.avg, '#37474f'));
    if (m.min) series.push(line('min', m.min, '#1565c0'));
    const legend = series.map((x) => (x as { name: string }).name);
    if (m.min) {
      // The shaded band runs from each day's min to its max, not down to the axis: an invisible base at
      // the min with the span (max − min) stacked on it. "all": stacked as is, negative minima included.
      const band = minMaxBand(alignDays(days, daySeries(rows, m.min)), alignDays(days, daySeries(rows, m.max)));
      const common = {
        type: 'line',
        stack: 'min-max',
        stackStrategy: 'all',
        connectNulls: false,
        showSymbol: false,
        silent: true,
        lineStyle: { opacity: 0 },
        emphasis: { disabled: true },
      };
      series.push({ ...common, id: `${DECORATION}band-base`, name: 'band base', data: band.base });
      series.push({ ...common, id: `${DECORATION}band`, name: 'min–max', data: band.span, areaStyle: { color: '#90a4ae', opacity: 0.22 } });
    }
    return { ...dayAxes(metric, days), legend: { top: 0, data: legend }, series };
  }, [rows, metric, days, m]);
  return <Chart option={option} height={340} testId="city-chart" label={`daily ${m.label.toLowerCase()}`} />;
}

function CompareChart({ a, b, aName, bName, metric, days }: { a: Row[]; b: Row[]; aName: string; bName: string; metric: CityMetric; days: string[] }) {
  const m = CITY_METRICS[metric];
  const field = m.avg ?? m.max;
  const option = useMemo(
    () => ({
      ...dayAxes(metric, days),
      series: [
        {
          type: metric === 'rainfall' ? 'bar' : 'line',
          name: aName,
          data: alignDays(days, daySeries(a, field)),
          connectNulls: false,
          showSymbol: false,
          itemStyle: { color: '#00897b' },
        },
        {
          type: metric === 'rainfall' ? 'bar' : 'line',
          name: bName,
          data: alignDays(days, daySeries(b, field)),
          connectNulls: false,
          showSymbol: false,
          itemStyle: { color: '#8e24aa' },
        },
      ],
    }),
    [a, b, aName, bName, metric, days, field],
  );
  return <Chart option={option} height={300} testId="compare-chart" label={`${aName} and ${bName}`} />;
}

function MonthSelect({ label, name, value, onChange }: { label: string; name: string; value: number; onChange: (month: number) => void }) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {MONTHS.map((month, i) => (
          <option key={month} value={i + 1}>
            {month}
          </option>
        ))}
      </select>
    </label>
  );
}

function rowsOf(state: ApiState<List<Row>>): Row[] | null {
  return state.status === 'ok' ? state.data.items : null;
}

function CitiesView({ q, cities }: { q: QueryState; cities: City[] }) {
  const found = findCity(cities, q.city);
  // A link naming a city we do not have says so instead of quietly showing another one.
  const unknown = q.city !== undefined && !found ? q.city : null;
  const city = found ?? cities[0];
  const lastYear = Number((city?.last_day ?? new Date().toISOString()).slice(0, 4));
  const firstYear = Number((city?.first_day ?? `${lastYear}`).slice(0, 4));
  const year = intParam(q.year, lastYear);
  // Opened without months: the months of that year holding data, not January–December around one month.
  const months = dataMonths(year, city?.first_day, city?.last_day);
  const m1 = Math.min(12, Math.max(1, intParam(q.m1, months.m1)));
  const m2 = Math.min(12, Math.max(m1, intParam(q.m2, months.m2)));
  const metric: CityMetric = isCityMetric(q.metric) ? q.metric : 'temperature';
  const from = `${year}-${String(m1).padStart(2, '0')}-01`;
  const to = monthEnd(year, m2);
  const days = useMemo(() => daysBetween(from, to), [from, to]);
  const vs = findCity(cities, q.vs) ?? null;
  const main = useApi<List<Row>>(city && !unknown ? apiUrl(`/curated/cities/${encodeURIComponent(cityKey(city))}`, { from, to }) : null);
  const other = useApi<List<Row>>(vs ? apiUrl(`/curated/cities/${encodeURIComponent(cityKey(vs))}`, { from, to }) : null);
  const years: number[] = [];
  for (let y = Math.max(lastYear, year); y >= Math.min(firstYear, year); y--) years.push(y);
  const set = (changes: Record<string, string | number | undefined>) => update(q, changes);
  if (!city) return <Empty>No city has daily statistics yet: run the synop pipeline.</Empty>;
  const mainRows = rowsOf(main);
  const otherRows = rowsOf(other);
  return (
    <>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          City
          <select name="city" value={cityKey(city)} onChange={(e) => set({ city: e.target.value })}>
            {cities.map((c) => (
              <option key={cityKey(c)} value={cityKey(c)}>
                {cityName(c)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Year
          <select name="year" value={year} onChange={(e) => set({ year: e.target.value })}>
            {years.map((y) => (
              <option key={y}>{y}</option>
            ))}
          </select>
        </label>
        {/* Moving one end past the other drags it along: the range never runs backwards. */}
        <MonthSelect label="From" name="m1" value={m1} onChange={(m) => set({ m1: m, m2: Math.max(m, m2) })} />
        <MonthSelect label="To" name="m2" value={m2} onChange={(m) => set({ m2: m, m1: Math.min(m, m1) })} />
        <label>
          Metric
          <select name="metric" value={metric} onChange={(e) => set({ metric: e.target.value })}>
            {Object.entries(CITY_METRICS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Compare with
          <select name="vs" value={vs ? cityKey(vs) : ''} onChange={(e) => set({ vs: e.target.value || undefined })}>
            <option value="">—</option>
            {cities
              .filter((c) => cityKey(c) !== cityKey(city))
              .map((c) => (
                <option key={cityKey(c)} value={cityKey(c)}>
                  {cityName(c)}
                </option>
              ))}
          </select>
        </label>
      </form>
      <h2>
        {cityName(city)}: {CITY_METRICS[metric].label.toLowerCase()}, {MONTHS[m1 - 1]}
        {m2 !== m1 ? `–${MONTHS[m2 - 1]}` : ''} {year}
      </h2>
      {unknown !== null ? (
        <ErrorBox message={`no city "${unknown}" with daily statistics (known: ${cities.map(cityName).join(', ')})`} />
      ) : main.status === 'loading' ? (
        <Loading what={`${cityName(city)} days`} />
      ) : main.status === 'error' ? (
        <ErrorBox message={main.error.message} status={main.error.status} />
      ) : mainRows && mainRows.length === 0 ? (
        <Empty>
          No daily statistics for {cityName(city)} in this period (data from {city.first_day ?? '—'} to {city.last_day ?? '—'}).
        </Empty>
      ) : mainRows ? (
        <>
          <Callouts rows={mainRows} metric={metric} />
          <DailyChart rows={mainRows} metric={metric} days={days} />
        </>
      ) : null}
      {vs ? (
        <>
          <h2>
            {cityName(city)} vs {cityName(vs)}
          </h2>
          {other.status === 'error' ? (
            <ErrorBox message={other.error.message} status={other.error.status} />
          ) : mainRows && otherRows ? (
            <CompareChart a={mainRows} b={otherRows} aName={cityName(city)} bName={cityName(vs)} metric={metric} days={days} />
          ) : (
            <Loading what={`${cityName(vs)} days`} />
          )}
        </>
      ) : null}
    </>
  );
}

export function CitiesPage({ q }: { q: QueryState }) {
  const cities = useApi<List<City>>('/curated/cities');
  return (
    <>
      <h1>Cities</h1>
      <Async state={cities} what="cities">
        {(d) => (d.items.length === 0 ? <Empty>No city has daily statistics yet: run the synop pipeline.</Empty> : <CitiesView q={q} cities={d.items} />)}
      </Async>
    </>
  );
}
