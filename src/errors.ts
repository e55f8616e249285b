// The one error table. Every failure Stockade reports has a stable `code`; its HTTP status comes
// from this table and nowhere else (WebSocket answers carry the same code in the error body).
// Errors cross thread boundaries as plain `ErrorBody` objects (structured clone drops classes).

export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'the request does not match its schema' },
  INVALID_QUANTITY: { status: 400, message: 'quantity must be a positive whole number within limits' },
  INVALID_SKU: { status: 400, message: 'SKU ids are 1-64 characters of A-Z a-z 0-9 . _ -' },
  INVALID_IDEMPOTENCY_KEY: { status: 400, message: 'idempotency keys are 8-128 characters of A-Z a-z 0-9 . _ : -' },
  INVALID_RESERVATION_ID: { status: 400, message: 'not a reservation id issued by Stockade' },
  BATCH_TOO_LARGE: { status: 413, message: 'the batch holds more commands than batchCommandsMax' },
  SKU_NOT_FOUND: { status: 404, message: 'no such SKU' },
  RESERVATION_NOT_FOUND: { status: 404, message: 'no such reservation' },
  UNKNOWN_LOCATION: { status: 422, message: 'the SKU has no stock record at a requested location' },
  INSUFFICIENT_STOCK: { status: 409, message: 'not enough available stock' },
  SKU_FLAGGED_OUT_OF_STOCK: { status: 409, message: 'the SKU is manually flagged out of stock' },
  RESERVATION_NOT_ACTIVE: { status: 409, message: 'the reservation is not in a state that allows this' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'the idempotency key was used for a different request' },
  STOCK_WOULD_BE_NEGATIVE: { status: 422, message: 'the adjustment would take on-hand stock below zero' },
  UNAUTHENTICATED: { status: 401, message: 'a valid API key is required' },
  FORBIDDEN: { status: 403, message: 'the API key does not allow this' },
  CUSTOMER_RESERVATION_LIMIT: { status: 429, message: 'the customer holds reservationsPerCustomerMax open reservations of this SKU' },
  RESERVATIONS_PER_SKU_LIMIT: { status: 429, message: 'the SKU holds reservationsPerSkuMax open reservations' },
  PENDING_QUEUE_FULL: { status: 429, message: 'the SKU waiting queue holds pendingPerSkuMax requests' },
  LOCATIONS_PER_SKU_LIMIT: { status: 422, message: 'the SKU already has locationsPerSkuMax locations' },
  OVERLOADED: { status: 503, message: 'the shard mailbox is full; retry with backoff' },
  SHARD_UNAVAILABLE: { status: 503, message: 'the shard is recovering or restarting; retry' },
  MALFORMED_FRAME: { status: 400, message: 'the frame is not a JSON or msgpack object with a valid id' },
  FRAME_TOO_LARGE: { status: 413, message: 'the frame exceeds gateway.frameBytesMax' },
  IN_FLIGHT_LIMIT: { status: 429, message: 'the connection has gateway.inFlightPerConnectionMax requests in flight' },
  RATE_LIMITED: { status: 429, message: 'the API key exceeded its request rate; retry after details.retryAfterMs' },
  SUBSCRIPTION_LIMIT: { status: 429, message: 'the connection watches gateway.subscriptionsPerConnectionMax SKUs' },
  CART_REJECTED: { status: 409, message: 'a cart line could not be reserved; no line of the cart is held' },
  STREAMS_UNAVAILABLE: { status: 503, message: 'NATS is disabled or not reached yet' },
  NOTIFIER_UNAVAILABLE: { status: 503, message: 'the notifier is not configured (notifier.url) or did not answer' },
  DEAD_LETTER_NOT_FOUND: { status: 404, message: 'no dead letter at that sequence' },
  ALERT_NOT_FOUND: { status: 404, message: 'the notifier has no history for that alert id' },
  ALERT_NOT_OPEN: { status: 404, message: 'no open (firing, tracked) alert with that id to acknowledge' },
  ORDER_NOT_FOUND: { status: 404, message: 'no such order' },
  ILLEGAL_ORDER_TRANSITION: { status: 409, message: 'the order is not in a state that allows this' },
  ORDER_ON_HOLD: { status: 409, message: 'a line of the order is out of stock or flagged: the order is held, its payment authorisation kept, and cannot be confirmed' },
  ORDER_LINES_UNAVAILABLE: { status: 409, message: 'a line of the order cannot be served now; see details for availability and substitutes' },
  PREORDER_NOT_OFFERED: { status: 409, message: 'the SKU does not take pre-orders' },
  PREORDER_CAPACITY_EXHAUSTED: { status: 409, message: 'the pre-order capacity (production run) of the SKU is taken' },
  ORDER_LIMIT: { status: 429, message: 'the order flow holds its configured maximum of open orders, queue entries or unpublished events' },
  ORDER_PAYLOAD_MALFORMED: { status: 400, message: 'the channel order payload is not a JSON object' },
  ORDER_CHANNEL_UNKNOWN: { status: 422, message: 'no order adapter is configured for the channel' },
  ORDER_ACCOUNT_UNKNOWN: { status: 422, message: 'the account is not configured for the channel, which rejects unknown accounts' },
  ORDER_LINE_WITHOUT_SKU: { status: 422, message: 'an order line has no SKU and the account does not skip such lines' },
  ORDER_WITHOUT_LINES: { status: 422, message: 'the order has no line to place' },
  ORDER_TOO_MANY_LINES: { status: 413, message: "the order has more lines than the account's linesPerOrderMax" },
  ORDER_CURRENCY_INVALID: { status: 400, message: 'not an ISO 4217 currency code, or an amount with more decimals than the currency has' },
  ORDER_CURRENCY_NOT_ALLOWED: { status: 422, message: "the currency is not in the account's currenciesAllowed" },
  ORDER_NOT_PLACEABLE: { status: 422, message: 'the channel reports the order cancelled, voided or still a draft' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, message: 'the webhook request has no valid X-Stockade-Timestamp or no X-Stockade-Signature matching its body' },
  WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE: { status: 401, message: 'the webhook X-Stockade-Timestamp is outside the tolerance window (a replay or a skewed clock)' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class StockadeError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERRORS[code].message);
    this.name = 'StockadeError';
    this.code = code;
    this.details = details;
  }

  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.details);
  }
}

/**
 * The answer for a refused request. Built directly, never through an Error: a refusal is an
 * ordinary answer (a sold-out SKU refuses most of a flash sale's reserves), and capturing a stack
 * trace for each was 5 % of the in-process shard benchmark's profile, all of it its sell-out check.
 */
export function errorBody(code: ErrorCode, message?: string, details?: unknown): ErrorBody {
  const body: ErrorBody = { code, message: message ?? ERRORS[code].message };
  if (details !== undefined) body.details = details;
  return body;
}

export function httpStatusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}
