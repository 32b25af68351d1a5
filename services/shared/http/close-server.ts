import type { Server } from 'node:http';

/**
 * Stops accepting connections and lets responses in flight finish for up to
 * `graceMs`, then cuts what is left. Keep-alive connections are closed as soon
 * as they fall idle, so a finished stream does not hold the shutdown.
 */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    sweeper.unref();
    deadline.unref();
    server.close(() => {
      clearInterval(sweeper);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
