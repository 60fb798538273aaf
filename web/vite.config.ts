import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));

// `npm run dev:web` proxies the API to a running `ecluse up` (default port 8080, or ECLUSE_API).
const api = process.env.ECLUSE_API ?? 'http://127.0.0.1:8080';
const proxied = [
  '/dashboard',
  '/pipelines',
  '/runs',
  '/rejects',
  '/stations',
  '/curated',
  '/staging',
  '/raw',
  '/lake',
  '/health',
  '/docs',
  '/metrics',
  '/energy',
];

/**
 * ECharts is imported on demand (components/Chart.tsx) so the app's code runs without waiting for it; this
 * tells the browser to download it from the start anyway, alongside the app's own chunk.
 */
function preloadEcharts(): Plugin {
  return {
    name: 'ecluse-preload-echarts',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && c.name === 'echartsSetup');
        return chunk ? [{ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `/${chunk.fileName}` }, injectTo: 'head' }] : [];
      },
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react(), preloadEcharts()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The whole app is one small bundle plus ECharts; no warning below 1 MB (the budget is gzipped).
    chunkSizeWarningLimit: 1000,
  },
  server: { proxy: Object.fromEntries(proxied.map((p) => [p, api])) },
});
