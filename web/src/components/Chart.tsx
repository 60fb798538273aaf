import { useEffect, useRef, useState } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

// Only what the pages use: keeps the bundle small (ECharts whole is ~1 MB minified).
echarts.use([LineChart, BarChart, ScatterChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkLineComponent, CanvasRenderer]);

interface Counts {
  series: number;
  points: number;
  gaps: number;
}

/** Counts read back from the chart's own option: what ECharts holds, for tests and for the curious. */
function countsOf(chart: echarts.ECharts): Counts {
  const opt = chart.getOption() as { series?: Array<{ data?: unknown[] }> };
  const series = opt.series ?? [];
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
  return { series: series.length, points, gaps };
}

/**
 * One ECharts chart. The container carries `data-series`, `data-points` (values drawn) and `data-gaps`
 * (null points: breaks in the line) once rendered, so tests check the chart without counting pixels.
 */
export function Chart({ option, height = 320, testId, label }: { option: EChartsCoreOption; height?: number; testId?: string; label?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const chartRef = useRef<echarts.ECharts | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chart = echarts.init(el, undefined, { renderer: 'canvas' });
    chartRef.current = chart;
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
    };
  }, []);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    chart.setOption(option, { notMerge: true });
    setCounts(countsOf(chart));
    // Read by the browser tests (time to first chart); cheap, and visible in the devtools' timeline.
    performance.mark('ecluse:chart-drawn');
  }, [option]);

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
      style={{ height }}
    />
  );
}
