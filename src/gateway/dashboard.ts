// The operators' dashboard: static files from dashboard/ (plain ES modules, no build step), served
// at `/`. Read once at start: they are small and never change while the process runs. The page
// itself talks to the same WebSocket and HTTP API as any client (see dashboard/app.js).

import { readFileSync } from 'node:fs';
import type uWS from 'uWebSockets.js';
import { projectFile } from '../paths.js';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'dashboard/index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'dashboard/app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'dashboard/app.css', type: 'text/css; charset=utf-8' },
};

/**
 * The page loads only its own files and talks only to this origin: a strict policy keeps an
 * injected string (a SKU name, an alert summary) from running or leaking anything.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

export function installDashboard(app: uWS.TemplatedApp): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(projectFile(file));
    app.get(path, (res) => {
      res.cork(() => {
        res
          .writeStatus('200 OK')
          .writeHeader('content-type', type)
          .writeHeader('cache-control', 'no-cache')
          .writeHeader('content-security-policy', CONTENT_SECURITY_POLICY)
          .writeHeader('x-content-type-options', 'nosniff')
          .end(body);
      });
    });
  }
}
