import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

/**
 * Serves the dashboard built by `npm run build` (Vite, services/console/web →
 * dist/web). Files are read once and kept in memory (the build is small);
 * hashed assets are cached for a year, index.html never.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The build output, found from the compiled (dist/services/console) or source (services/console) location. */
export function findWebRoot(dir = __dirname): string | null {
  for (const candidate of [join(dir, '..', '..', 'web'), join(dir, '..', '..', 'dist', 'web')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  return null;
}

const MISSING_BUILD = `<!doctype html><html><head><meta charset="utf-8"><title>llm-logger</title></head>
<body style="font:15px system-ui,sans-serif;margin:2rem"><h1>llm-logger console</h1>
<p>The dashboard has not been built. Run <code>npm run build</code> (it runs on <code>npm ci</code> too), then reload.
The API is available: <a href="/api/requests">/api/requests</a>.</p></body></html>`;

export class StaticFiles {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly root: string | null) {}

  /** Serves `pathname`; unknown paths get index.html (client-side routes). */
  serve(pathname: string, res: ServerResponse, head: boolean): void {
    if (!this.root) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(head ? undefined : MISSING_BUILD);
      return;
    }
    const rel = normalize(safeDecode(pathname)).replace(/^([/\\])+/, '');
    let file = join(this.root, rel);
    if (!file.startsWith(this.root + sep) || rel === '' || !isFile(file)) file = join(this.root, 'index.html');
    let body = this.cache.get(file);
    if (!body) {
      body = readFileSync(file);
      this.cache.set(file, body);
    }
    const immutable = file.includes(`${sep}assets${sep}`);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(head ? undefined : body);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return '/';
  }
}
