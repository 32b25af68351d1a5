import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');
export const CLI = join(REPO_ROOT, 'dist', 'services', 'cli', 'main.js');

export interface RunningCli {
  child: ChildProcess;
  gatewayUrl: string;
  consoleUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Starts `llm-logger start` from the compiled CLI as a real process, on
 * ephemeral ports, and resolves once both roles report their ports.
 */
export function startCli(env: Record<string, string>, args: string[] = ['start'], timeoutMs = 20_000): Promise<RunningCli> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      LLM_LOGGER_GATEWAY_PORT: '0',
      LLM_LOGGER_CONSOLE_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llm-logger did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = (): void => {
      const gw = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(out);
      const co = /"port":(\d+)[^\n]*"msg":"console listening"/.exec(out);
      const needsGateway = args[0] === 'start' || args[0] === 'gateway';
      const needsConsole = args[0] === 'start' || args[0] === 'console';
      // Roles with no API of their own report their health server instead.
      const other = needsGateway || needsConsole || /"msg":"[a-z]+ health and metrics listening"/.test(out);
      if ((!needsGateway || gw) && (!needsConsole || co) && other) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve({
          child,
          gatewayUrl: gw ? `http://127.0.0.1:${gw[1]}` : '',
          consoleUrl: co ? `http://127.0.0.1:${co[1]}` : '',
          output: () => out,
          exited,
        });
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`llm-logger exited with ${code} before starting:\n${out}`));
    });
  });
}
