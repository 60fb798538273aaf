import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));

// `npm run dev:web` proxies the API to a running `ecluse up` (default port 8080, or ECLUSE_API).
const api = process.env.ECLUSE_API ?? 'http://127.0.0.1:8080';
const proxied = ['/dashboard', '/pipelines', '/runs', '/rejects', '/stations', '/curated', '/staging', '/raw', '/lake', '/health', '/docs', '/metrics'];

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The whole app is one small bundle plus ECharts; no warning below 1 MB (the budget is gzipped).
    chunkSizeWarningLimit: 1000,
    rollupOptions: { output: { manualChunks: (id: string) => (id.includes('node_modules/echarts') || id.includes('node_modules/zrender') ? 'echarts' : undefined) } },
  },
  server: { proxy: Object.fromEntries(proxied.map((p) => [p, api])) },
});
