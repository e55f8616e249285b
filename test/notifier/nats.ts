// The notifier tests' NATS: the project's own nats-server from nats.conf, whose `notifier` user
// has exactly the permissions the notifier needs (its KV buckets, the history stream, acks on
// ALERTS). The tests run the notifier as that user, so they prove the block in nats.conf is
// enough; the `stockade` user creates the ALERTS stream and publishes notices, as Stockade does.

export { NatsServer as NotifierNatsServer } from '../nats-server.js';

export const NOTIFIER_USER = { user: 'notifier', pass: 'notifier-dev-password' } as const;
export const STOCKADE_USER = { user: 'stockade', pass: 'stockade-dev-password' } as const;
