// One Stockade process per data directory. Two processes on the same shards would each hold
// their own SKU state and both accept reserves against it: the single-writer rule, and with it
// "never oversell", broken. A process overlapping its predecessor on a restart is enough.
//
// The lock is a Unix socket in Linux's abstract namespace, named after the directory's real path:
// binding it is atomic, and the kernel frees it the moment the holder dies, SIGKILL included, so
// there is no stale lock file to judge. Its holder answers each connection with its pid, which
// the refusal names. Other platforms have no abstract namespace: there the lock is not taken
// (docs/operations.md). The namespace is per network namespace: containers that share a data
// volume but not a network namespace do not see each other's lock.

import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';

/** How long a refusal waits for the holder to say its pid. */
const HOLDER_PID_WAIT_MS = 1_000;

export class DataDirInUseError extends Error {}

export class DataDirLock {
  private constructor(private readonly server: Server | null) {}

  /** Take the lock of `dataDir` (which must exist), or throw DataDirInUseError naming the holder. */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    if (process.platform !== 'linux') return new DataDirLock(null);
    const real = realpathSync(dataDir);
    // A hash keeps the name within the 107 bytes an abstract socket name may have.
    const name = `\0stockade-data-dir-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
    const server = createServer((socket) => socket.end(`${process.pid}\n`));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(name, () => resolve());
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      const pid = await holderPid(name);
      throw new DataDirInUseError(
        `data directory ${real} is in use by another Stockade process${pid ? ` (pid ${pid})` : ''}; ` +
          'two processes on the same shards would each accept reserves against their own state. Stop it first',
      );
    }
    // The lock must not keep a stopping process alive.
    server.unref();
    return new DataDirLock(server);
  }

  release(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

function holderPid(name: string): Promise<string | null> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(name);
    const timer = setTimeout(() => socket.destroy(), HOLDER_PID_WAIT_MS);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      const pid = answer.trim();
      resolve(/^\d+$/.test(pid) ? pid : null);
    });
    socket.on('error', () => undefined);
  });
}
