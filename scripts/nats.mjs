#!/usr/bin/env node
// Used by `npm start`: make sure a NATS server with JetStream is reachable at 127.0.0.1:4222.
// When none answers, start one from the project's nats.conf with its store in ./data/nats,
// detached, and wait for its "Server is ready" line. Installs Debian's nats-server when root
// and missing. Production runs its own NATS cluster (docs/operations.md).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const HOST = '127.0.0.1';
const PORT = 4222;
const STORE = join('data', 'nats');
const READY_WAIT_MS = 15_000;

function reachable() {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port: PORT });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function binary() {
  for (const candidate of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  if (process.getuid?.() === 0) {
    console.log('nats: nats-server is not installed; installing Debian package nats-server');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  }
  return null;
}

if (await reachable()) {
  console.log(`nats: using the server at ${HOST}:${PORT}`);
  process.exit(0);
}
const bin = binary();
if (!bin) {
  console.error('nats: no server at 127.0.0.1:4222 and no nats-server binary; install it (apt-get install nats-server)');
  console.error('nats: Stockade will start and keep retrying; stock events flow once NATS is up');
  process.exit(0);
}
mkdirSync(STORE, { recursive: true });
const logFile = join(STORE, 'nats-server.log');
const out = openSync(logFile, 'a');
const child = spawn(bin, ['-c', 'nats.conf', '-sd', STORE, '-l', logFile], { detached: true, stdio: ['ignore', out, out] });
child.unref();
writeFileSync(join(STORE, 'nats-server.pid'), `${child.pid}\n`);
const started = Date.now();
while (Date.now() - started < READY_WAIT_MS) {
  if (readFileSync(logFile, 'utf8').includes('Server is ready')) {
    console.log(`nats: started nats-server (pid ${child.pid}) from nats.conf, store ${STORE}, log ${logFile}`);
    process.exit(0);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.error(`nats: nats-server did not become ready within ${READY_WAIT_MS} ms; see ${logFile}`);
process.exit(1);
