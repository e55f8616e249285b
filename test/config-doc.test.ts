// docs/configuration.md is generated from the configuration schema: it must be current, and
// every key the schema accepts must carry a description.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA } from '../src/config.js';
import { CONFIGURATION_DOC, configurationMarkdown } from '../scripts/config-doc.js';

interface Node {
  description?: string;
  type?: unknown;
  properties?: Record<string, Node>;
}

function undescribed(node: Node, path: string): string[] {
  const missing: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    if (!child.description) missing.push(at);
    missing.push(...undescribed(child, at));
  }
  return missing;
}

describe('docs/configuration.md', () => {
  it('is generated from the current schema (run npm run docs:config when this fails)', () => {
    expect(readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(configurationMarkdown());
  });

  it('describes every key of the service configuration', () => {
    expect(undescribed(CONFIG_SCHEMA as unknown as Node, '')).toEqual([]);
  });
});
