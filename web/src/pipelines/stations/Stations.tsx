import { useMemo } from 'react';
import type { List } from '../../lib/api.js';
import type { StationStat } from './api.js';
import { formatCount, formatInstant } from '../../lib/format.js';
import { Chart } from '../../components/Chart.js';
import { ListTable } from '../../components/ListTable.js';
import { Empty } from '../../components/States.js';
import { Link, navigate } from '../../router.js';
import { useApi } from '../../useApi.js';

/** Stations on plain lat/lon axes: no tiles to fetch, works offline. */
function StationMap({ items }: { items: StationStat[] }) {
  const located = items.filter((s) => s.latitude !== null && s.longitude !== null);
  const option = useMemo(
    () => ({
      animation: false,
      grid: { left: 50, right: 20, top: 20, bottom: 40 },
      xAxis: { type: 'value', name: 'longitude °', nameLocation: 'middle', nameGap: 25, scale: true },
      yAxis: { type: 'value', name: 'latitude °', nameLocation: 'middle', nameGap: 35, scale: true },
      tooltip: {
        trigger: 'item',
        formatter: (p: { data: { name: string; value: [number, number, number] } }) => `${p.data.name}<br>${formatCount(p.data.value[2])} reports`,
      },
      series: [
        {
          type: 'scatter',
          name: 'stations',
          symbolSize: (v: [number, number, number]) => Math.max(8, Math.min(24, 4 + Math.sqrt(v[2]) / 4)),
          itemStyle: { color: '#1565c0', opacity: 0.8 },
          data: located.map((s) => ({ id: s.id, name: `${s.id} ${s.name ?? ''}`, value: [s.longitude, s.latitude, s.reports] })),
        },
      ],
    }),
    [located],
  );
  if (located.length === 0) return <Empty>No station has coordinates.</Empty>;
  // A click on a dot opens the station; the table below is the keyboard-accessible way.
  return (
    <Chart
      option={option}
      height={360}
      testId="stations-map"
      label="stations by latitude and longitude"
      onItemClick={(d) => navigate({ page: 'station', id: (d as { id: string }).id })}
    />
  );
}

export function StationsPage() {
  const state = useApi<List<StationStat>>('/dashboard/stations');
  return (
    <>
      <h1>Stations</h1>
      <ListTable
        state={state}
        what="stations"
        empty="No station yet: run the stations pipeline (ecluse run stations --input …)."
        testId="stations-table"
        intro={(d) => <StationMap items={d.items} />}
        head={
          <>
            <th>Station</th>
            <th>Name</th>
            <th>Type</th>
            <th className="num">Reports</th>
            <th>Last report</th>
          </>
        }
        row={(s) => (
          <tr key={s.id}>
            <td>
              <Link to={{ page: 'station', id: s.id }}>{s.id}</Link>
            </td>
            <td>{s.name ?? '—'}</td>
            <td>{s.type ?? '—'}</td>
            <td className="num">{formatCount(s.reports)}</td>
            <td>{formatInstant(s.last_report)}</td>
          </tr>
        )}
      />
    </>
  );
}
