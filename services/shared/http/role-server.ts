import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { serveHealth, type HealthOptions } from './health';
import { sendJson } from './json-response';
import { closeServer } from './close-server';

/**
 * The small HTTP server of roles that serve no API of their own (aggregator,
 * indexer, roller): /healthz, /readyz and /metrics on LLM_LOGGER_METRICS_PORT.
 * Port 0 picks a free port; null means not served (roles inside `start`, where
 * the console and gateway already serve the shared registry).
 */
export interface RoleServer {
  port: number;
  close(): Promise<void>;
}

export async function startRoleServer(host: string, port: number, options: HealthOptions & { registry: Registry }): Promise<RoleServer> {
  const server: Server = createServer((req, res) => {
    if (!serveHealth(req, res, options)) sendJson(res, 404, { error: { message: 'not found: this role serves /healthz, /readyz and /metrics' } });
  });
  server.listen(port, host);
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server, 1_000) };
}
