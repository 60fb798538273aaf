import { Counter, Histogram, type Registry } from 'prom-client';

/** Request durations of a data API: cached answers take microseconds, a large query seconds. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface HttpRequestSample {
  method: string;
  /** The route pattern (`/stations/:id`), never the raw URL: label values must stay few. */
  route: string;
  status: number;
  seconds: number;
}

export interface HttpMetrics {
  observe(sample: HttpRequestSample): void;
}

/** `ecluse_http_requests_total` and `ecluse_http_request_duration_seconds`, by method, route and status. */
export function registerHttpMetrics(registry: Registry): HttpMetrics {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'ecluse_http_requests_total', help: 'HTTP requests answered, by route pattern', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'ecluse_http_request_duration_seconds',
    help: 'Time from request received to response sent, by route pattern',
    labelNames,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  return {
    observe({ method, route, status, seconds }) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}
