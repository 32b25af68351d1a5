import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread the way every thread of the project runs: its
 * messages go to `onMessage`, and `onDeath` is told once when it fails or
 * exits (terminate() included), so the owner can fail what the thread had in
 * hand and start a new one on next use. The thread never keeps the process
 * alive (unref'd after the listeners, which would ref it again).
 */
export function spawnWorker<M>(
  script: string,
  options: WorkerOptions,
  what: string,
  onMessage: (message: M) => void,
  onDeath: (err: Error, worker: Worker) => void,
): Worker {
  const worker = new Worker(script, options);
  let dead = false;
  const die = (err: Error): void => {
    if (dead) return;
    dead = true;
    onDeath(err, worker);
  };
  worker.on('message', onMessage);
  worker.on('error', die);
  worker.on('exit', (code) => die(new Error(`${what} exited with code ${code}`)));
  worker.unref();
  return worker;
}
