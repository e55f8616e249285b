// Command-line parsing shared by every command: node:util parseArgs in strict mode, with its
// errors turned into usage errors (exit 2), and the options the HTTP commands have in common.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies Options;

export const HTTP_OPTIONS = {
  ...COMMON_OPTIONS,
  url: { type: 'string' },
  'api-key': { type: 'string' },
} as const satisfies Options;

export const HTTP_OPTIONS_HELP = `  --url URL         Stockade's HTTP address (default: $STOCKADE_URL, else ${'http://127.0.0.1:8080'})
  --api-key KEY     API key (default: $STOCKADE_API_KEY)
  --json            print one JSON document instead of text
  -h, --help        show this help`;

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** parseArgs, strict, positionals allowed; a malformed command line is a UsageError. */
export function parse<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

/** A whole number from the command line, within [min, max]. */
export function wholeNumber(name: string, text: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined || !/^\d{1,16}$/.test(text)) throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(text ?? '')}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A decimal number from the command line, within [min, max] (`above`: strictly greater than min). */
export function decimal(name: string, text: string, min: number, max: number, above = false): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(value) || value < min || (above && value === min) || value > max) {
    throw new UsageError(`${name} must be a number ${above ? 'above' : 'from'} ${min} ${above ? 'and at most' : 'to'} ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Exactly `names.length` positionals, named in the error when one is missing or extra. */
export function positionals(given: string[], names: string[]): string[] {
  if (given.length < names.length) throw new UsageError(`missing ${names.slice(given.length).map((n) => `<${n}>`).join(' ')}`);
  if (given.length > names.length) throw new UsageError(`unexpected argument ${JSON.stringify(given[names.length])}`);
  return given;
}
