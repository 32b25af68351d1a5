import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticFiles } from './static-files';

function serve(files: StaticFiles, path: string): { headers: Record<string, unknown>; body: string } {
  const out = { headers: {} as Record<string, unknown>, body: '' };
  const res = {
    writeHead: (_s: number, h: Record<string, unknown>) => (out.headers = h),
    end: (b?: Buffer | string) => (out.body = b ? b.toString() : ''),
  } as unknown as ServerResponse;
  files.serve(path, res, false);
  return out;
}

describe('StaticFiles', () => {
  let root: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-logger-web-'));
    root = join(dir, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<html>index</html>');
    writeFileSync(join(root, 'assets', 'app-1.js'), 'js');
    writeFileSync(join(dir, 'secret.txt'), 'secret');
  });
  afterAll(() => rmSync(join(root, '..'), { recursive: true, force: true }));

  it('serves assets with long caching and index.html for any other path', () => {
    const files = new StaticFiles(root);
    expect(serve(files, '/assets/app-1.js')).toMatchObject({ body: 'js', headers: { 'cache-control': 'public, max-age=31536000, immutable' } });
    expect(serve(files, '/')).toMatchObject({ body: '<html>index</html>', headers: { 'cache-control': 'no-cache' } });
    expect(serve(files, '/request/abc').body).toBe('<html>index</html>');
  });

  it('never serves a file outside its root', () => {
    const files = new StaticFiles(root);
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/%E0%A4%A']) {
      expect(serve(files, path).body).toBe('<html>index</html>');
    }
  });

  it('explains how to build the dashboard when it is missing', () => {
    expect(serve(new StaticFiles(null), '/').body).toContain('npm run build');
  });
});
