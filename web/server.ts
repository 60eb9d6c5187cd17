/**
 * A small static server for the built workbench (web/dist): `npm run workbench`. It binds to
 * 127.0.0.1 unless told otherwise, sends the cross-origin isolation headers (so the wasm backend
 * gets worker threads), and serves files under its root only: a request whose path has a `..`, `.`
 * or empty segment, a backslash, a colon or a NUL is refused (400) before any file is touched, and
 * a symbolic link leading out of the root is not followed (404).
 *
 *   tsx web/server.ts [--port 5178] [--host 127.0.0.1] [--root web/dist]
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ISOLATION_HEADERS } from './headers.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
};

export interface WorkbenchServerOptions {
  /** The folder served. Default: web/dist (the output of `npm run build:web`). */
  root?: string;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** Default 5178; 0 picks a free port. */
  port?: number;
}

export const DEFAULT_ROOT = fileURLToPath(new URL('./dist', import.meta.url));

/** The relative file path a request asks for, or null when its path is not a plain one under the root. */
export function requestedFile(url: string): string | null {
  if (!url.startsWith('/')) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.split(/[?#]/, 1)[0]);
  } catch {
    return null;
  }
  if (path === '/') return 'index.html';
  const segments = path.slice(1).split('/');
  const plain = segments.every((s) => s !== '' && s !== '.' && s !== '..' && !/[\\:\0]/.test(s));
  return plain ? segments.join(sep) : null;
}

/** The server (not yet listening); `startWorkbenchServer` listens too. */
export async function createWorkbenchServer(rootDir: string = DEFAULT_ROOT): Promise<Server> {
  const root = await realpath(rootDir);
  return createServer((req, res) => {
    const send = (status: number, text: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'only GET and HEAD'); return; }
    const file = requestedFile(req.url ?? '');
    if (file === null) { send(400, 'bad path'); return; }
    // realpath resolves links: what they point to must still be under the root.
    realpath(join(root, file)).then(async (full) => {
      if (!full.startsWith(root + sep) || !(await stat(full)).isFile()) { send(404, 'not found'); return; }
      res.writeHead(200, {
        ...ISOLATION_HEADERS,
        'Cross-Origin-Resource-Policy': 'same-origin',
        'X-Content-Type-Options': 'nosniff',
        'content-type': TYPES[extname(full)] ?? 'application/octet-stream',
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(full).pipe(res);
    }, () => send(404, 'not found'));
  });
}

/** Serves the workbench; resolves once listening, with the server and its URL. */
export async function startWorkbenchServer(options: WorkbenchServerOptions = {}): Promise<{ server: Server; url: string }> {
  const { root = DEFAULT_ROOT, host = '127.0.0.1', port = 5178 } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`startWorkbenchServer: port must be an integer in [0, 65535], got ${port}`);
  const server = await createWorkbenchServer(root);
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve); });
  const address = server.address();
  const where = typeof address === 'object' && address ? `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  return { server, url: `http://${where}/` };
}

function parseArgs(argv: string[]): WorkbenchServerOptions {
  const options: WorkbenchServerOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`workbench server: ${flag} needs a value`);
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--host') options.host = value;
    else if (flag === '--root') options.root = value;
    else throw new Error(`workbench server: unknown option ${flag} (it takes --port, --host, --root)`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === (await realpath(process.argv[1]).catch(() => ''))) {
  try {
    const { url } = await startWorkbenchServer(parseArgs(process.argv.slice(2)));
    console.log(`pixelgrad workbench: ${url}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
