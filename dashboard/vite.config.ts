/// <reference types="vitest/config" />
// Vite builds the dashboard into dist/ (embedded in the luna binary); `npm run dev` serves it
// with hot reload and proxies the API to a running `luna serve` at DASHBOARD_API_URL (default
// :8000). Not a LUNA_* name: luna reads those as its own settings and refuses unknown ones.
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.DASHBOARD_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: Object.fromEntries(['/api', '/health', '/metrics', '/openapi.json'].map((p) => [p, { target: api }])),
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    // Room for several 4 s waits (src/test/setup.ts) in one test on a loaded machine.
    testTimeout: 20000,
  },
});
