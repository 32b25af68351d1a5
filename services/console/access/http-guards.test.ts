import type { IncomingMessage } from 'node:http';
import { hostAllowed, hostName, sameOriginOrNone } from './http-guards';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('host names are read without port or brackets, and malformed ones are null', () => {
  expect(hostName('LocalHost:3000')).toBe('localhost');
  expect(hostName('[::1]:3000')).toBe('::1');
  expect(hostName('console.example.com')).toBe('console.example.com');
  expect(hostName('evil.example/x')).toBeNull();
  expect(hostName(undefined)).toBeNull();
});

test('loopback names and configured hosts pass; anything else (a rebinding name) does not', () => {
  for (const h of ['localhost:3000', '127.0.0.1:3000', '127.0.0.2', '[::1]:3000', 'app.localhost']) expect(hostAllowed(h, [])).toBe(true);
  for (const h of ['evil.example:3000', '192.168.1.5:3000', 'localhost.evil.example', '', undefined]) expect(hostAllowed(h, [])).toBe(false);
  expect(hostAllowed('console.example.com', ['console.example.com'])).toBe(true);
});

test('a POST from another origin is refused; same origin or no origin pass', () => {
  expect(sameOriginOrNone(req({ host: 'localhost:3000' }))).toBe(true);
  expect(sameOriginOrNone(req({ host: 'localhost:3000', origin: 'http://localhost:3000' }))).toBe(true);
  expect(sameOriginOrNone(req({ host: 'localhost:3000', origin: 'http://evil.example' }))).toBe(false);
  expect(sameOriginOrNone(req({ host: 'localhost:3000', origin: 'null' }))).toBe(false);
});
