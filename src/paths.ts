// Files shipped with the project (docs/, config/), found from source (src/…) and from the build
// (dist/src/…) alike.

import { fileURLToPath } from 'node:url';

const here = import.meta.url;
const ROOT = new URL(here.includes('/dist/src/') ? '../../' : '../', here);

export function projectFile(relative: string): string {
  return fileURLToPath(new URL(relative, ROOT));
}
