import { useEffect, useRef, useState } from 'react';
import type { ECharts, EChartsCoreOption } from 'echarts/core';

type EchartsModule = typeof import('./echartsSetup.js');
let loading: Promise<EchartsModule> | null = null;

/** Starts loading ECharts (once); main.tsx calls it at start-up so it downloads alongside the first API call. */
export function loadEcharts(): Promise<EchartsModule> {
  loading ??= import('./echartsSetup.js');
  return loading;
}

/**
 * Series whose id starts with this draw decoration, not data (the invisible base of a min–max band): left
 * out of the counts and of tooltips.
 */
export const DECORATION = 'decoration:';

export function isDecoration(seriesId: unknown): boolean {
  return typeof seriesId === 'string' && seriesId.startsWith(DECORATION);
}

interface Counts {
  series: number;
  points: number;
  gaps: number;
  /** Each shaded area as "name from floor": the series stacked beneath it, or "axis" when it fills down to the axis. */
  areas: string;
}

type OptionSeries = { id?: unknown; name?: unknown; data?: unknown[]; stack?: unknown; areaStyle?: unknown };

/** Counts read back from the chart's own option: what ECharts holds, for tests and for the curious. */
function countsOf(chart: ECharts): Counts {
  const opt = chart.getOption() as { series?: OptionSeries[] };
  const all = opt.series ?? [];
  const series = all.filter((s) => !isDecoration(s.id));
  let points = 0;
  let gaps = 0;
  for (const s of series) {
    for (const d of s.data ?? []) {
      const y = Array.isArray(d) ? d[d.length - 1] : d && typeof d === 'object' && 'value' in d ? (d as { value: unknown }).value : d;
      const v = Array.isArray(y) ? y[y.length - 1] : y;
      if (v === null || v === undefined || v === '-') gaps++;
      else points++;
    }
  }
  const areas = all.flatMap((s, i) => {
    if (!s.areaStyle) return [];
    const below = s.stack === undefined ? undefined : all.slice(0, i).findLast((o) => o.stack === s.stack);
    return [`${String(s.name)} from ${below ? String(below.name) : 'axis'}`];
  });
  return { series: series.length, points, gaps, areas: areas.join(', ') };
}

/**
 * One ECharts chart. The container carries `data-series`, `data-points` (values drawn) and `data-gaps`
 * (null points: breaks in the line) once rendered, and `data-areas` (what each shaded area fills down to),
 * so tests check the chart without counting pixels.
 */
export function Chart({
  option,
  height = 320,
  testId,
  label,
  onItemClick,
}: {
  option: EChartsCoreOption;
  height?: number;
  testId?: string;
  label?: string;
  /** Called with the clicked item's data object (e.g. a station on the scatter). */
  onItemClick?: (data: unknown) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const clickRef = useRef(onItemClick);
  clickRef.current = onItemClick;
  const [chart, setChart] = useState<ECharts | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let disposed = false;
    let instance: ECharts | null = null;
    let ro: ResizeObserver | null = null;
    void loadEcharts().then(({ echarts }) => {
      if (disposed) return;
      instance = echarts.init(el, undefined, { renderer: 'canvas' });
      const i = instance;
      i.on('click', (p: { data?: unknown }) => clickRef.current?.(p.data));
      ro = new ResizeObserver(() => i.resize());
      ro.observe(el);
      setChart(instance);
    });
    return () => {
      disposed = true;
      ro?.disconnect();
      instance?.dispose();
    };
  }, []);

  useEffect(() => {
    if (!chart) return;
    chart.setOption(option, { notMerge: true });
    setCounts(countsOf(chart));
    // Read by the browser tests (time to first chart); cheap, and visible in the devtools' timeline.
    performance.mark('ecluse:chart-drawn');
  }, [chart, option]);

  return (
    <div
      ref={ref}
      className="chart"
      role="img"
      aria-label={label}
      data-testid={testId}
      data-series={counts?.series}
      data-points={counts?.points}
      data-gaps={counts?.gaps}
      data-areas={counts?.areas || undefined}
      style={{ height }}
    />
  );
}
