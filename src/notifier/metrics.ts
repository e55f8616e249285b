// Prometheus metrics of one notifier process, on its own registry (never the global one, so two
// notifiers in one test process do not collide).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type CircuitStateName = 'closed' | 'open' | 'half_open';
export const CIRCUIT_STATE_VALUE: Record<CircuitStateName, number> = { closed: 0, half_open: 1, open: 2 };

export class NotifierMetrics {
  readonly registry = new Registry();
  readonly notices = new Counter({
    name: 'notifier_notices_total',
    help: 'Alert notices consumed, by outcome (routed, unrouted, poison)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'notifier_delivery_attempts_total',
    help: 'Delivery attempts by receiver and outcome',
    labelNames: ['receiver', 'outcome'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'notifier_delivery_latency_seconds',
    help: "From the alert's decision time to the connector's answer, delivered attempts only",
    labelNames: ['receiver'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly held = new Gauge({
    name: 'notifier_held_notifications',
    help: 'Notifications waiting in a receiver queue (digest window, quiet hours, over budget)',
    labelNames: ['receiver'],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'notifier_notices_in_flight',
    help: 'Notices consumed and not yet acknowledged',
    registers: [this.registry],
  });
  readonly streamPending = new Gauge({
    name: 'notifier_stream_pending',
    help: 'Notices on the stream not yet delivered to any notifier of the durable (JetStream num_pending)',
    registers: [this.registry],
  });
  readonly circuit = new Gauge({
    name: 'notifier_circuit_state',
    help: 'Circuit per receiver: 0 closed, 1 half-open, 2 open',
    labelNames: ['receiver'],
    registers: [this.registry],
  });
  readonly openAlerts = new Gauge({
    name: 'notifier_open_alerts',
    help: 'Critical alerts tracked for escalation or reminders',
    registers: [this.registry],
  });
  readonly escalations = new Counter({
    name: 'notifier_escalations_total',
    help: 'Alerts escalated because nobody acknowledged or resolved them in time',
    registers: [this.registry],
  });

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
