import { defineConfig } from 'vitest/config';

// The hub serves `dist/` itself; in development the Vite server proxies the
// hub's API, Socket.IO and health routes to a hub on the default port.
const HUB = process.env.FLOTILLA_HUB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/api': { target: HUB, changeOrigin: false },
      '/healthz': { target: HUB, changeOrigin: false },
      '/socket.io': { target: HUB, ws: true, changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
