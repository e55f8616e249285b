// Stockade operations dashboard. Plain ES modules, no build step. Everything live arrives over
// one WebSocket (/v1/ws): availability pushes for the SKUs in view and the selected one, the
// per-second ops summary and alert notices (watchOps). HTTP is used for reads on demand (catalogue
// pages, a SKU's lists) and for the admin actions — never polled.

const ROW_HEIGHT_PX = 28;
/** Rows fetched above and below the visible ones, so a short scroll needs no new page. */
const ROWS_BUFFER = 15;
/** The catalogue search answers at most this many rows per page … */
const PAGE_ROWS_MAX = 500;
/** … and never past this offset: beyond it, a search narrows the list (see the total line). */
const SCROLL_ROWS_MAX = 10_000;
const CHART_POINTS_MAX = 120;
const STOCK_POINTS_MAX = 500;
const ALERTS_SHOWN_MAX = 200;
/** Open alerts read at sign-in: SKUs with alerts, most alerts first. */
const ALERTING_SKUS_LOADED_MAX = 100;
const ALERT_READS_IN_FLIGHT_MAX = 4;
const RESERVATIONS_SHOWN_MAX = 50;
const SEARCH_DEBOUNCE_MS = 150;
/** The selected SKU's reservation lists change with every push: re-read at most this often. */
const LISTS_REFRESH_MS = 500;
/** Reconnect after a lost connection: the pause doubles from the first to the last value. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 10_000;
const REQUESTS_WAITING_MAX = 1000;

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem('stockade-key'),
  principal: null,
  ws: null,
  reconnectMs: RECONNECT_FIRST_MS,
  reconnectTimer: null,
  nextId: 1,
  waiting: new Map(),
  query: { q: '', sort: 'sku', order: 'asc', alerting: false },
  total: 0,
  /** Rows currently rendered: sku -> { el, summary, index }. */
  rows: new Map(),
  subscribed: new Set(),
  selected: null,
  /** The selected SKU's last SkuView. */
  view: null,
  selectSeq: 0,
  stockSeries: [],
  series: { rate: [], p50: [], p99: [], wal: [], alert: [] },
  alerts: new Map(),
  fetchSeq: 0,
  fetching: false,
  fetchAgain: false,
};

// ---- HTTP and WebSocket ---------------------------------------------------------------------

async function http(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${state.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw Object.assign(new Error(json.error?.message ?? res.statusText), { code: json.error?.code, details: json.error?.details, status: res.status });
  }
  return json;
}

function request(op, args = {}) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'not connected' } });
  if (state.waiting.size >= REQUESTS_WAITING_MAX) return Promise.resolve({ ok: false, error: { code: 'REQUESTS_WAITING_LIMIT', message: 'too many requests waiting' } });
  const id = state.nextId++;
  return new Promise((resolve) => {
    state.waiting.set(id, resolve);
    ws.send(JSON.stringify({ id, op, ...args }));
  });
}

function connect() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`);
  state.ws = ws;
  badge('conn', 'connecting', 'warn');
  ws.onopen = async () => {
    const auth = await request('auth', { key: state.key });
    if (!auth.ok) return signOut(auth.error.code === 'UNAUTHENTICATED' ? 'This API key was not accepted.' : auth.error.message ?? auth.error.code);
    state.reconnectMs = RECONNECT_FIRST_MS;
    state.principal = auth.result;
    $('who').textContent = `${auth.result.keyId} (${auth.result.scopes.join(', ')})`;
    badge('conn', 'live', 'ok');
    showStatusBadges(true);
    $('login').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    // A new connection has no subscriptions: the rows on screen subscribe again.
    state.subscribed.clear();
    const watching = request('watchOps');
    // After a reconnect the SKU's page is refreshed in place, so a half-typed form survives.
    if (state.selected && state.view?.sku === state.selected) refreshDetail(state.selected);
    else if (state.selected) selectSku(state.selected);
    // The catalogue first: the open alerts take many reads and would queue in front of it.
    await refreshRows();
    await watching;
    await loadOpenAlerts();
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.push === 'availability') return onAvailability(message);
    if (message.push === 'ops') return onOps(message);
    if (message.push === 'alert') return onAlert(message.alert);
    if (message.push === 'alertAcked') return onAlertAcked(message.alertId, message.by);
    const resolve = state.waiting.get(message.id);
    if (resolve) {
      state.waiting.delete(message.id);
      resolve(message);
    }
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    for (const resolve of state.waiting.values()) resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'connection lost' } });
    state.waiting.clear();
    if (!state.key) return;
    // Reconnect with a growing pause while the key is still set; the page keeps its last numbers.
    badge('conn', `offline · retry in ${Math.round(state.reconnectMs / 1000)} s`, 'bad');
    state.reconnectTimer = setTimeout(connect, state.reconnectMs);
    state.reconnectMs = Math.min(RECONNECT_MAX_MS, state.reconnectMs * 2);
  };
}

/** The server's state is only known (and only shown) to a signed-in page. */
function showStatusBadges(shown) {
  for (const id of ['shards', 'nats', 'lag', 'publisher']) $(id).hidden = !shown;
}

function badge(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.className = `badge ${kind ?? ''}`;
}

function signOut(message = '') {
  state.key = null;
  state.principal = null;
  sessionStorage.removeItem('stockade-key');
  clearTimeout(state.reconnectTimer);
  const ws = state.ws;
  state.ws = null;
  ws?.close();
  badge('conn', 'signed out', 'bad');
  showStatusBadges(false);
  $('who').textContent = '';
  $('signout').hidden = true;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('key').focus();
}

const isAdmin = () => Boolean(state.principal?.scopes.includes('admin'));

// ---- catalogue: server-side search, virtualised rows, live cells ------------------------------

function searchPath(offset, limit) {
  const q = state.query;
  const params = new URLSearchParams({ q: q.q, sort: q.sort, order: q.order, alerting: String(q.alerting), offset: String(offset), limit: String(limit) });
  return `/v1/skus?${params}`;
}

/**
 * Fetch the page of rows around the scroll position. One fetch at a time: a scroll or search
 * during a fetch asks for one more when it ends, so fast scrolling never queues requests.
 */
async function refreshRows() {
  if (state.fetching) {
    state.fetchAgain = true;
    return;
  }
  state.fetching = true;
  try {
    do {
      state.fetchAgain = false;
      await fetchRows();
    } while (state.fetchAgain);
  } finally {
    state.fetching = false;
  }
}

async function fetchRows() {
  const box = $('rows');
  const first = Math.floor(box.scrollTop / ROW_HEIGHT_PX);
  const visible = Math.ceil(box.clientHeight / ROW_HEIGHT_PX);
  const offset = Math.min(Math.max(0, first - ROWS_BUFFER), SCROLL_ROWS_MAX - 1);
  const limit = Math.min(PAGE_ROWS_MAX, visible + 2 * ROWS_BUFFER, SCROLL_ROWS_MAX - offset);
  const seq = ++state.fetchSeq;
  let page;
  try {
    page = await http('GET', searchPath(offset, limit));
  } catch (err) {
    $('total').textContent = err.message;
    return;
  }
  if (seq !== state.fetchSeq) return;
  state.total = page.total;
  const shown = Math.min(page.total, SCROLL_ROWS_MAX);
  const count = `${page.total.toLocaleString('en-US')} ${page.total === 1 ? 'SKU' : 'SKUs'}`;
  $('total').textContent = page.total > SCROLL_ROWS_MAX ? `${count} (first ${SCROLL_ROWS_MAX.toLocaleString('en-US')} listed: search to narrow)` : count;
  $('spacer').style.height = `${shown * ROW_HEIGHT_PX}px`;
  $('empty').hidden = page.total > 0;
  const keep = new Set(page.skus.map((s) => s.sku));
  for (const [sku, row] of state.rows) {
    if (keep.has(sku)) continue;
    row.el.remove();
    state.rows.delete(sku);
  }
  page.skus.forEach((summary, i) => renderRow(summary, offset + i));
  syncSubscriptions();
}

function cell(text, className = '') {
  const span = document.createElement('span');
  span.textContent = text;
  if (className) span.className = className;
  return span;
}

function renderRow(summary, index) {
  let row = state.rows.get(summary.sku);
  if (!row) {
    const el = document.createElement('div');
    el.className = 'row';
    el.setAttribute('role', 'row');
    el.dataset.sku = summary.sku;
    el.tabIndex = 0;
    el.onclick = () => selectSku(summary.sku);
    el.onkeydown = (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        selectSku(summary.sku);
      }
    };
    $('rows').appendChild(el);
    row = { el, summary, index };
    state.rows.set(summary.sku, row);
  }
  row.summary = summary;
  row.index = index;
  row.el.dataset.index = String(index);
  row.el.style.top = `${index * ROW_HEIGHT_PX}px`;
  row.el.classList.toggle('selected', summary.sku === state.selected);
  row.el.classList.toggle('flagged', summary.flagged);
  const available = cell(String(summary.available), `num${summary.available === 0 ? ' zero' : ''}`);
  available.dataset.testid = `available-${summary.sku}`;
  const alerts = cell('', 'alerts');
  for (const a of summary.alerts) alerts.appendChild(cell(a, `tag ${severityOfType(a)}`));
  row.el.replaceChildren(
    cell(summary.sku, 'sku'),
    cell(String(summary.onHand), 'num'),
    cell(String(summary.reserved), 'num'),
    available,
    alerts,
  );
  row.el.title = [summary.category, ...summary.tags].filter(Boolean).join(' · ');
}

/** The catalogue names alerts by type only: their usual severity colours the tag. */
function severityOfType(name) {
  const type = name.split('@')[0];
  if (type === 'zero_stock' || type === 'manual_out_of_stock' || type === 'reserved_threatened') return 'critical';
  if (type === 'high_demand') return 'info';
  return 'warning';
}

/** Watch exactly the SKUs on screen (and the selected one): the server pushes their changes. */
async function syncSubscriptions() {
  const wanted = new Set(state.rows.keys());
  if (state.selected) wanted.add(state.selected);
  const add = [...wanted].filter((s) => !state.subscribed.has(s));
  const drop = [...state.subscribed].filter((s) => !wanted.has(s));
  for (const s of add) state.subscribed.add(s);
  for (const s of drop) state.subscribed.delete(s);
  if (drop.length) await request('unsubscribe', { skus: drop });
  if (add.length) await request('subscribe', { skus: add });
}

function onAvailability(push) {
  const row = state.rows.get(push.sku);
  if (row) renderRow({ ...row.summary, onHand: push.onHand, reserved: push.reserved, available: push.available, pending: push.pending }, row.index);
  if (push.sku === state.selected) {
    addStockPoint(push.at, push.available, push.onHand);
    for (const [field, value] of Object.entries({ onHand: push.onHand, reserved: push.reserved, available: push.available, pending: push.pending })) {
      const el = document.querySelector(`[data-testid="detail-${field}"]`);
      if (el) el.textContent = String(value);
    }
    scheduleDetailRefresh();
  }
}

// ---- the selected SKU -----------------------------------------------------------------------

let detailTimer = null;
/** Locations, lists and demand follow pushes, re-read at most every LISTS_REFRESH_MS. */
function scheduleDetailRefresh() {
  if (detailTimer) return;
  detailTimer = setTimeout(() => {
    detailTimer = null;
    if (state.selected) refreshDetail(state.selected);
  }, LISTS_REFRESH_MS);
}

/** Render a SKU's page from scratch (a new selection). */
async function selectSku(sku) {
  const seq = ++state.selectSeq;
  state.selected = sku;
  for (const row of state.rows.values()) row.el.classList.toggle('selected', row.summary.sku === sku);
  const detail = $('detail');
  let view;
  try {
    view = await http('GET', `/v1/skus/${encodeURIComponent(sku)}`);
  } catch (err) {
    if (seq === state.selectSeq) detail.textContent = err.message;
    return;
  }
  if (seq !== state.selectSeq) return;
  state.view = view;
  await loadStockSeries(sku, view);
  if (seq !== state.selectSeq) return;
  detail.innerHTML = `
    <h2><span class="sku">${escapeHtml(sku)}</span> <span class="muted">${escapeHtml([view.category, ...view.tags].filter(Boolean).join(' · '))}</span></h2>
    <div class="figures">
      <div><span>On hand</span><b data-testid="detail-onHand"></b></div>
      <div><span>Reserved</span><b data-testid="detail-reserved"></b></div>
      <div><span>Available</span><b data-testid="detail-available"></b></div>
      <div><span>Waiting</span><b data-testid="detail-pending"></b></div>
    </div>
    <p id="detail-flag"></p>
    <p id="detail-thresholds" class="muted" data-testid="detail-thresholds"></p>
    <table class="locations"><thead><tr><th>Location</th><th>On hand</th><th>Reserved</th><th>Safety</th><th>Available</th><th>Minimum</th></tr></thead><tbody></tbody></table>
    <div class="detail-alerts" data-testid="detail-alerts"></div>
    <h3><span class="legend available">Available</span> and <span class="legend on-hand">on hand</span> over time</h3>
    <canvas id="stock-chart" aria-label="Available over time"></canvas>
    <p class="muted" id="demand" data-testid="demand"></p>
    <section class="lists">
      <div><h3>Reservations <b id="count-active"></b></h3><ol id="list-active"></ol></div>
      <div><h3>Waiting queue <b id="count-pending"></b></h3><ol id="list-pending"></ol></div>
      <div><h3>Pre-order queue <b id="count-preorders"></b></h3><ol id="list-preorders"></ol></div>
    </section>
    ${isAdmin() ? thresholdsForm(view) : '<p class="muted" data-testid="read-only">An admin key can edit thresholds and flags.</p>'}`;
  fillDetail(view);
  if (isAdmin()) wireAdmin(sku);
  drawStockChart();
  await Promise.all([loadLists(sku), loadDemand(sku), loadPreorders(sku), syncSubscriptions()]);
}

/** Re-read the selected SKU and update its figures, flag, locations and alerts; the form stays as typed. */
async function refreshDetail(sku) {
  const seq = state.selectSeq;
  let view;
  try {
    view = await http('GET', `/v1/skus/${encodeURIComponent(sku)}`);
  } catch {
    return;
  }
  if (seq !== state.selectSeq || state.selected !== sku) return;
  state.view = view;
  fillDetail(view);
  await Promise.all([loadLists(sku), loadDemand(sku)]);
}

function fillDetail(view) {
  for (const field of ['onHand', 'reserved', 'available', 'pending']) {
    const el = document.querySelector(`[data-testid="detail-${field}"]`);
    if (el) el.textContent = String(view[field]);
  }
  const flag = $('detail-flag');
  flag.replaceChildren();
  if (view.outOfStockFlag) {
    const tag = cell(`flagged out of stock by ${view.outOfStockFlag.flaggedBy}: ${view.outOfStockFlag.reason}`, 'tag critical');
    tag.dataset.testid = 'flagged';
    flag.appendChild(tag);
  }
  const body = document.querySelector('#detail table.locations tbody');
  body.replaceChildren(
    ...view.locations.map((l) => {
      const tr = document.createElement('tr');
      for (const value of [l.location, l.onHand, l.reserved, l.safetyStock, l.available, minimumOf(view.thresholds, l.location)]) {
        const td = document.createElement('td');
        td.textContent = String(value);
        tr.appendChild(td);
      }
      return tr;
    }),
  );
  const alerts = document.querySelector('#detail [data-testid="detail-alerts"]');
  alerts.replaceChildren(
    ...(view.alerts.length
      ? view.alerts.map((a) => {
          const tag = cell(`${a.type}${a.location ? '@' + a.location : ''}`, `tag ${a.severity}`);
          tag.title = a.summary;
          return tag;
        })
      : [cell('No open alerts.', 'muted')]),
  );
  $('detail-thresholds').textContent = thresholdsLine(view.thresholds ?? {});
  const flagButton = $('flag');
  if (flagButton) flagButton.textContent = view.outOfStockFlag ? 'Clear out-of-stock flag' : 'Flag out of stock';
  // The form follows the saved thresholds, except for the fields the operator is editing.
  for (const input of document.querySelectorAll('#thresholds input')) {
    if (input.dataset.dirty !== 'true') input.value = view.thresholds?.[input.name] ?? '';
  }
}

function thresholdsLine(t) {
  const parts = [];
  if (t.minAvailable != null) parts.push(`minimum ${t.minAvailable}`);
  if (t.minAvailableByTimeOfDay?.length) parts.push(`${t.minAvailableByTimeOfDay.length} time-of-day minimums`);
  if (t.lowPercent != null && t.referenceLevel != null) parts.push(`low below ${t.lowPercent}% of ${t.referenceLevel}`);
  if (t.leadTimeDays != null) parts.push(`lead time ${t.leadTimeDays} days`);
  return parts.length ? `Thresholds: ${parts.join(' · ')}` : 'No SKU-wide thresholds.';
}

function minimumOf(thresholds, location) {
  const t = thresholds ?? {};
  const region = t.regionByLocation?.[location];
  return t.minAvailableByLocation?.[location] ?? (region ? t.minAvailableByRegion?.[region] : undefined) ?? '–';
}

async function loadLists(sku) {
  try {
    const lists = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/reservations?limit=${RESERVATIONS_SHOWN_MAX}`);
    if (sku !== state.selected) return;
    fillList('list-active', lists.reservations.map((r) => `${r.quantity} × ${r.customerId} · ${r.channel} · until ${clockMinutes(r.expiresAt)}`), 'None.');
    fillList('list-pending', lists.pending.map((r) => `${r.requested} × ${r.customerId} · priority ${r.priority} · since ${clockMinutes(r.createdAt)}`), 'Nobody waiting.');
    $('count-active').textContent = `${lists.reservations.length}${lists.truncated ? '+' : ''}`;
    $('count-pending').textContent = `${lists.pending.length}${lists.truncated ? '+' : ''}`;
  } catch (err) {
    fillList('list-active', [err.message]);
  }
}

async function loadDemand(sku) {
  const el = $('demand');
  try {
    const d = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/demand`);
    if (sku !== state.selected) return;
    el.textContent = demandLine(d);
    el.classList.toggle('hot', Boolean(d.highDemand || d.leadTimeExhausted));
  } catch (err) {
    // The demand windows run only where the streams do: without them the route is a 404.
    el.textContent = err.status === 404 ? 'No demand figures in this process.' : `Demand: ${err.message}`;
  }
}

/** The demand windows' snapshot in one line: sales, velocity, time to stock-out against lead time. */
function demandLine(d) {
  if (!d.tracked) return 'No sales recorded in the last 7 days.';
  const week = d.windows.week;
  // Units asked for (reserve attempts, served or not) beside units sold: the demand the stock missed.
  const parts = [`${week.saleUnits} units sold in 7 days (${d.windows.day.saleUnits} in 24 h), ${week.attemptUnits} asked for`, `${fmt(d.salesVelocityPerDay)} a day`];
  if (d.timeToStockOutDays != null) parts.push(`stock-out in ${fmt(d.timeToStockOutDays)} days`);
  if (d.leadTimeDays != null) parts.push(`lead time ${fmt(d.leadTimeDays)} days`);
  if (d.highDemand) parts.push('HIGH DEMAND');
  if (d.leadTimeExhausted) parts.push('REORDER: stock-out before the lead time');
  return parts.join(' · ');
}

async function loadPreorders(sku) {
  try {
    const q = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/preorders`);
    if (sku !== state.selected) return;
    const items = q.preorders ?? [];
    fillList('list-preorders', items.map(preorderLine), 'No pre-orders.');
    $('count-preorders').textContent = String(items.length);
  } catch (err) {
    // Pre-orders live in the order flow: a process without it answers 404.
    fillList('list-preorders', [], err.status === 404 ? 'No pre-orders.' : err.message);
  }
}

function preorderLine(p) {
  const day = (ms) => new Date(ms).toLocaleDateString([], { month: 'short', day: 'numeric' });
  const delivery = p.estimate ? ` · delivery ${day(p.estimate.deliveryFrom)}–${day(p.estimate.deliveryTo)}` : '';
  return `#${p.position} · ${p.quantity} × ${p.customerId} · ${p.channel}${p.paused ? ' · paused' : ''}${delivery}`;
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const clockMinutes = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const fmt = (n) => (n == null ? '–' : Number(n).toFixed(2).replace(/\.00$/, ''));

function fillList(id, lines, whenEmpty = '') {
  const list = $(id);
  if (!list) return;
  list.replaceChildren();
  list.classList.toggle('empty', lines.length === 0);
  for (const line of lines.length ? lines : whenEmpty ? [whenEmpty] : []) {
    const li = document.createElement('li');
    li.textContent = line;
    list.appendChild(li);
  }
}

function thresholdsForm(view) {
  const t = view.thresholds ?? {};
  const field = (name, label, step) =>
    `<label>${label}<input name="${name}" type="number" step="${step}" value="${t[name] ?? ''}" data-testid="threshold-${name}"></label>`;
  // novalidate: the server judges every value and its error names the field, for every client alike.
  return `<form id="thresholds" data-testid="thresholds-form" novalidate>
      <h3>Thresholds</h3>
      ${field('minAvailable', 'Minimum available', '1')}${field('leadTimeDays', 'Lead time (days)', 'any')}
      ${field('lowPercent', 'Low at % of reference', 'any')}${field('referenceLevel', 'Reference level', '1')}
      <div class="actions">
        <button type="submit" data-testid="save-thresholds">Save thresholds</button>
        <span id="thresholds-result" data-testid="thresholds-result" role="status"></span>
      </div>
    </form>
    <button type="button" id="flag" class="danger" data-testid="flag">${view.outOfStockFlag ? 'Clear out-of-stock flag' : 'Flag out of stock'}</button>`;
}

function wireAdmin(sku) {
  for (const input of document.querySelectorAll('#thresholds input')) input.oninput = () => (input.dataset.dirty = 'true');
  $('thresholds').onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    // Fields left empty are dropped; the other threshold settings (time of day, regions) stay.
    const thresholds = { ...state.view.thresholds };
    for (const name of ['minAvailable', 'leadTimeDays', 'lowPercent', 'referenceLevel']) {
      const raw = String(form.get(name) ?? '').trim();
      if (raw === '') delete thresholds[name];
      else thresholds[name] = Number(raw);
    }
    const result = $('thresholds-result');
    result.className = 'muted';
    result.textContent = 'Saving…';
    try {
      await http('PUT', `/v1/skus/${encodeURIComponent(sku)}/thresholds`, thresholds);
      result.textContent = 'Saved.';
      result.className = 'ok';
      for (const input of document.querySelectorAll('#thresholds input')) delete input.dataset.dirty;
      refreshDetail(sku);
    } catch (err) {
      const field = err.details?.field ?? err.details?.path;
      result.textContent = `${err.code ?? 'error'}: ${err.message}${field ? ` (${field})` : ''}`;
      result.className = 'error';
    }
  };
  $('flag').onclick = async () => {
    const button = $('flag');
    button.disabled = true;
    try {
      if (state.view.outOfStockFlag) await http('DELETE', `/v1/skus/${encodeURIComponent(sku)}/out-of-stock-flag`);
      else await http('PUT', `/v1/skus/${encodeURIComponent(sku)}/out-of-stock-flag`, { reason: 'flagged from the dashboard', flaggedBy: state.principal.keyId });
      await refreshDetail(sku);
    } catch (err) {
      $('detail-flag').textContent = `${err.code ?? 'error'}: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  };
}

/**
 * The SKU's recent history from its shard (one point per interval since the shard started), then
 * live pushes extend it. A gateway without the route leaves the chart to the pushes.
 */
async function loadStockSeries(sku, view) {
  state.stockSeries = [];
  try {
    const series = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/stock-series`);
    for (const p of series.points) addStockPoint(p.at, p.available, p.onHand);
  } catch {
    // Only live points, then.
  }
  addStockPoint(Date.now(), view.available, view.onHand);
}

function addStockPoint(at, available, onHand) {
  state.stockSeries.push({ at, available, onHand });
  if (state.stockSeries.length > STOCK_POINTS_MAX) state.stockSeries.shift();
  drawStockChart();
}

function drawStockChart() {
  const canvas = $('stock-chart');
  if (canvas) drawLines(canvas, [state.stockSeries.map((p) => p.onHand), state.stockSeries.map((p) => p.available)], ['#9aa3ad', '#2456c8']);
}

// ---- alerts -----------------------------------------------------------------------------------

async function loadOpenAlerts() {
  try {
    const page = await http('GET', `/v1/skus?alerting=true&limit=${ALERTING_SKUS_LOADED_MAX}&sort=alerts&order=desc`);
    // A few reads at a time: the browser has six connections per host, and scrolling needs one.
    const views = [];
    for (let i = 0; i < page.skus.length; i += ALERT_READS_IN_FLIGHT_MAX) {
      const batch = page.skus.slice(i, i + ALERT_READS_IN_FLIGHT_MAX);
      views.push(...(await Promise.all(batch.map((s) => http('GET', `/v1/skus/${encodeURIComponent(s.sku)}`).catch(() => null)))));
    }
    const open = views.flatMap((v) => v?.alerts ?? []).sort((a, b) => Date.parse(a.raisedAt) - Date.parse(b.raisedAt));
    const openIds = new Set(open.map((a) => a.id));
    // Pushes that arrived meanwhile are newer: keep them after the ones read here. An
    // acknowledgement made from this page is remembered (the notices do not carry it).
    const before = state.alerts;
    const pushed = [...before.values()].filter((a) => !openIds.has(a.id));
    state.alerts = new Map();
    for (const alert of [...open, ...pushed]) {
      const ackedBy = before.get(alert.id)?.ackedBy;
      state.alerts.set(alert.id, ackedBy && alert.status === 'firing' ? { ...alert, ackedBy } : alert);
    }
  } catch {
    // The feed still fills from pushes.
  }
  trimAlerts();
  renderAlerts();
}

function trimAlerts() {
  while (state.alerts.size > ALERTS_SHOWN_MAX) state.alerts.delete(state.alerts.keys().next().value);
}

function onAlert(alert) {
  const before = state.alerts.get(alert.id);
  state.alerts.delete(alert.id);
  state.alerts.set(alert.id, before?.ackedBy && alert.status === 'firing' ? { ...alert, ackedBy: before.ackedBy } : alert);
  trimAlerts();
  renderAlerts();
  const row = state.rows.get(alert.sku);
  if (row) {
    // The catalogue names open episodes as `type` or `type@location`, like the search answer.
    const name = alert.location ? `${alert.type}@${alert.location}` : alert.type;
    const others = row.summary.alerts.filter((a) => a !== name);
    const flagged = alert.type === 'manual_out_of_stock' ? alert.status === 'firing' : row.summary.flagged;
    renderRow({ ...row.summary, flagged, alerts: alert.status === 'firing' ? [...others, name] : others }, row.index);
  }
  if (alert.sku === state.selected) refreshDetail(alert.sku);
}

/** Another operator (or this one) acknowledged an alert: every page shows it. */
function onAlertAcked(alertId, by) {
  const alert = state.alerts.get(alertId);
  if (!alert || alert.ackedBy) return;
  alert.ackedBy = by ?? 'someone';
  renderAlerts();
}

function renderAlerts() {
  const list = $('alert-feed');
  const firing = [...state.alerts.values()].filter((a) => a.status === 'firing').length;
  $('alerts-open').textContent = firing ? `${firing} firing in the feed` : 'none firing';
  list.replaceChildren();
  for (const alert of [...state.alerts.values()].reverse()) {
    const li = document.createElement('li');
    li.className = alert.status;
    li.dataset.alertId = alert.id;
    const head = document.createElement('div');
    head.append(cell(alert.severity, `tag ${alert.severity}`), cell(alert.sku, 'sku'), cell(alert.type.replaceAll('_', ' '), 'type'));
    head.querySelector('.sku').onclick = () => selectSku(alert.sku);
    const summary = document.createElement('div');
    summary.textContent = alert.summary;
    const meta = document.createElement('div');
    meta.className = 'muted';
    meta.append(cell(alert.status, 'status'), cell(` · ${clock(Date.parse(alert.status === 'resolved' ? alert.resolvedAt : alert.raisedAt))}`));
    li.append(head, summary, meta);
    if (alert.status === 'firing' && isAdmin()) li.appendChild(ackButton(alert));
    list.appendChild(li);
  }
}

function ackButton(alert) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = alert.ackedBy ? `acknowledged by ${alert.ackedBy}` : 'Acknowledge';
  button.disabled = Boolean(alert.ackedBy);
  button.dataset.testid = 'ack';
  button.onclick = async () => {
    button.disabled = true;
    try {
      const answer = await http('POST', `/v1/alerts/${encodeURIComponent(alert.id)}/ack`, { by: state.principal.keyId });
      alert.ackedBy = answer.ackedBy ?? state.principal.keyId;
      renderAlerts();
    } catch (err) {
      button.disabled = false;
      button.textContent = `${err.code ?? 'error'}: ${err.message} — retry`;
    }
  };
  return button;
}

// ---- ops summary and charts -----------------------------------------------------------------

function push(series, value) {
  series.push(value);
  if (series.length > CHART_POINTS_MAX) series.shift();
}

function onOps(ops) {
  const s = state.series;
  push(s.rate, ops.reserve.perSecond);
  push(s.p50, ops.reserve.p50Ms);
  push(s.p99, ops.reserve.p99Ms);
  push(s.wal, ops.walCommit.p99Ms);
  // Delivery (decision → the channel's answer) once notifiers deliver; publish time until then.
  const delivery = ops.alertDelivery && ops.alertDelivery.count > 0 ? ops.alertDelivery : null;
  push(s.alert, delivery ? delivery.p99Ms : ops.alertPublish.p99Ms);
  $('rate-now').textContent = ops.reserve.perSecond.toLocaleString('en-US');
  $('lat-now').textContent = `${fmt(ops.reserve.p50Ms)} / ${fmt(ops.reserve.p99Ms)}`;
  $('wal-now').textContent = fmt(ops.walCommit.p99Ms);
  $('alert-now').textContent = fmt(delivery ? delivery.p99Ms : ops.alertPublish.p99Ms);
  drawLines($('chart-rate'), [s.rate], ['#2456c8']);
  drawLines($('chart-latency'), [s.p50, s.p99], ['#137a3a', '#b3261e']);
  drawLines($('chart-wal'), [s.wal], ['#a15c00']);
  drawLines($('chart-alert'), [s.alert], ['#6b3fc8']);
  const queued = ops.shards.depths.reduce((a, b) => a + b, 0);
  // A shard given up on stays down until Stockade restarts: red, and named.
  const failed = ops.shards.failed ?? [];
  const shardState = failed.length > 0 ? `failed: ${failed.map((id) => `#${id}`).join(', ')}` : ops.shards.ready ? 'ready' : 'recovering';
  const count = ops.shards.depths.length;
  badge('shards', `${count} shard${count === 1 ? '' : 's'} ${shardState} · ${queued} queued`, failed.length > 0 ? 'bad' : ops.shards.ready ? 'ok' : 'warn');
  if (!ops.streams) {
    badge('nats', 'NATS off', '');
    badge('lag', 'stock events –', '');
    badge('publisher', 'alerts –', '');
    return;
  }
  badge('nats', ops.streams.connected ? 'NATS connected' : 'NATS away', ops.streams.connected ? 'ok' : 'bad');
  const stock = ops.streams.stock;
  const applied = stock?.lastAppliedSequence ? `up to #${stock.lastAppliedSequence} applied` : 'none yet';
  badge('lag', stock ? `stock events: ${applied}, ${stock.deadLettered} dead-lettered` : 'stock events: starting', stock?.running ? 'ok' : 'warn');
  const alerts = ops.streams.alerts;
  if (alerts) badge('publisher', `alerts: ${alerts.published} published, ${alerts.pending} pending${alerts.failures ? `, ${alerts.failures} failed` : ''}`, alerts.failures || alerts.lastError ? 'warn' : 'ok');
}

/** Lines scaled to the canvas's drawn size (sharp on any screen), the first line's max labelled. */
function drawLines(canvas, lines, colours) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, width, height);
  const max = Math.max(1e-9, ...lines.flat());
  const points = Math.max(2, ...lines.map((l) => l.length));
  const pad = 4 * ratio;
  ctx.strokeStyle = '#e2e5ea';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, height - pad);
  ctx.lineTo(width, height - pad);
  ctx.stroke();
  lines.forEach((line, i) => {
    ctx.strokeStyle = colours[i];
    ctx.lineWidth = 1.5 * ratio;
    ctx.beginPath();
    line.forEach((value, x) => {
      const px = (x / (points - 1)) * width;
      const py = height - pad - (value / max) * (height - 2 * pad - 12 * ratio);
      if (x === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
  });
  if (lines.some((l) => l.length)) {
    ctx.fillStyle = '#6b7480';
    ctx.font = `${10 * ratio}px system-ui, sans-serif`;
    ctx.fillText(`max ${fmt(max)}`, pad, 10 * ratio);
  }
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// ---- start ------------------------------------------------------------------------------------

let searchTimer = null;
$('search').oninput = () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    state.query.q = $('search').value.trim();
    $('rows').scrollTop = 0;
    refreshRows();
  }, SEARCH_DEBOUNCE_MS);
};
$('alerting').onchange = () => {
  state.query.alerting = $('alerting').checked;
  $('rows').scrollTop = 0;
  refreshRows();
};
for (const header of document.querySelectorAll('.thead [data-sort]')) {
  header.tabIndex = 0;
  header.onkeydown = (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      header.click();
    }
  };
  header.onclick = () => {
    const sort = header.dataset.sort;
    state.query.order = state.query.sort === sort && state.query.order === 'asc' ? 'desc' : 'asc';
    state.query.sort = sort;
    for (const h of document.querySelectorAll('.thead [data-sort]')) {
      h.className = h === header ? `sorted ${state.query.order}` : '';
      h.setAttribute('aria-sort', h === header ? (state.query.order === 'asc' ? 'ascending' : 'descending') : 'none');
    }
    $('rows').scrollTop = 0;
    refreshRows();
  };
}
$('rows').onscroll = () => refreshRows();
$('login').onsubmit = (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  if (!key) {
    $('login-error').textContent = 'Paste an API key first.';
    return;
  }
  state.key = key;
  $('key').value = '';
  $('login-error').textContent = '';
  sessionStorage.setItem('stockade-key', key);
  connect();
};
$('signout').onclick = () => signOut();
window.addEventListener('resize', () => {
  refreshRows();
  drawStockChart();
});

if (state.key) connect();
else signOut();
