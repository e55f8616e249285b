// Routing: which receivers hear a notice. Rules are tried in order; every matching rule adds its
// receivers (its own and its stakeholders'), a `final` rule stops the search. A recovery notice
// carries the same type, severity, SKU, location and tags as its alert, so it takes the same
// route by construction.

import type { Alert } from '../alerts/alert.js';
import type { NotifierConfig, ReceiverConfig, RuleConfig, RuleMatch } from './config.js';

/** `*` any run of characters (dots included), `?` one character; anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

interface CompiledRule {
  rule: RuleConfig;
  skus: RegExp[] | null;
  receivers: string[];
}

export interface Route {
  /** Receiver ids, each once, in rule order. */
  receivers: string[];
  /** Names of the rules that matched. */
  rules: string[];
  /** The earliest escalation among matching rules (critical alerts only). */
  escalation: { afterMs: number; receivers: string[] } | null;
}

function matches(match: RuleMatch, skus: RegExp[] | null, alert: Alert): boolean {
  if (match.types && !match.types.includes(alert.type)) return false;
  if (match.severities && !match.severities.includes(alert.severity)) return false;
  if (skus && !skus.some((re) => re.test(alert.sku))) return false;
  if (match.categories && (alert.category === null || !match.categories.includes(alert.category))) return false;
  if (match.tags && !alert.tags.some((t) => match.tags!.includes(t))) return false;
  if (match.locations && (alert.location === null || !match.locations.includes(alert.location))) return false;
  if (match.regions && (alert.region === null || !match.regions.includes(alert.region))) return false;
  return true;
}

export class Router {
  private readonly rules: CompiledRule[];

  constructor(config: Pick<NotifierConfig, 'rules' | 'receivers'>) {
    const byStakeholder = new Map<string, string[]>();
    for (const r of config.receivers as ReceiverConfig[]) {
      const list = byStakeholder.get(r.stakeholder) ?? [];
      list.push(r.id);
      byStakeholder.set(r.stakeholder, list);
    }
    this.rules = config.rules.map((rule) => ({
      rule,
      skus: rule.match.skus ? rule.match.skus.map(globToRegExp) : null,
      receivers: [...new Set([...rule.receivers, ...rule.stakeholders.flatMap((s) => byStakeholder.get(s) ?? [])])],
    }));
  }

  route(alert: Alert): Route {
    const receivers = new Set<string>();
    const rules: string[] = [];
    let escalation: Route['escalation'] = null;
    for (const compiled of this.rules) {
      if (!matches(compiled.rule.match, compiled.skus, alert)) continue;
      rules.push(compiled.rule.name);
      for (const r of compiled.receivers) receivers.add(r);
      const e = compiled.rule.escalation;
      if (e && alert.severity === 'critical') {
        if (escalation === null || e.afterMs < escalation.afterMs) escalation = { afterMs: e.afterMs, receivers: [...e.receivers] };
        else if (e.afterMs === escalation.afterMs) escalation.receivers = [...new Set([...escalation.receivers, ...e.receivers])];
      }
      if (compiled.rule.final) break;
    }
    return { receivers: [...receivers], rules, escalation };
  }
}
