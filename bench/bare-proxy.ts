import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The floor: a bare Node pass-through proxy (node:http in, node:http out,
 * keep-alive, bodies piped) with no parsing or logging at all.
 */
export function startBareProxy(port: number, upstreamPort: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const up = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

if (require.main === module) {
  void startBareProxy(Number(process.argv[2] ?? 0), Number(process.argv[3])).then((port) => process.stdout.write(`${port}\n`));
}
