// Stockade operations dashboard. Plain ES modules, no build step. Everything live arrives over
// one WebSocket (/v1/ws): availability pushes for the SKUs in view and the selected one, the
// per-second ops summary and alert notices (watchOps). HTTP is used for reads on demand (catalogue
// pages, a SKU's lists) and for the admin actions — never polled.

const ROW_HEIGHT_PX = 28;
const ROWS_BUFFER = 10;
const CHART_POINTS_MAX = 120;
const STOCK_POINTS_MAX = 500;
const ALERTS_SHOWN_MAX = 200;
const SEARCH_DEBOUNCE_MS = 150;

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem('stockade-key'),
  principal: null,
  ws: null,
  nextId: 1,
  waiting: new Map(),
  query: { q: '', sort: 'sku', order: 'asc', alerting: false },
  total: 0,
  /** Rows currently rendered: sku -> { el, summary }. */
  rows: new Map(),
  subscribed: new Set(),
  selected: null,
  stockSeries: [],
  series: { rate: [], p50: [], p99: [], wal: [], alert: [] },
  alerts: new Map(),
  fetchSeq: 0,
};

// ---- HTTP and WebSocket ---------------------------------------------------------------------

async function http(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${state.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(json.error?.message ?? res.statusText), { code: json.error?.code, status: res.status });
  return json;
}

function request(op, args = {}) {
  const id = state.nextId++;
  return new Promise((resolve) => {
    state.waiting.set(id, resolve);
    state.ws.send(JSON.stringify({ id, op, ...args }));
  });
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`);
  state.ws = ws;
  ws.onopen = async () => {
    const auth = await request('auth', { key: state.key });
    if (!auth.ok) return signOut(auth.error.message);
    state.principal = auth.result;
    $('who').textContent = `${auth.result.keyId} (${auth.result.scopes.join(', ')})`;
    badge('conn', 'live', 'ok');
    $('login').hidden = true;
    $('app').hidden = false;
    await request('watchOps');
    state.subscribed.clear();
    await loadOpenAlerts();
    refreshRows();
    if (state.selected) selectSku(state.selected);
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.push === 'availability') return onAvailability(message);
    if (message.push === 'ops') return onOps(message);
    if (message.push === 'alert') return onAlert(message.alert);
    const resolve = state.waiting.get(message.id);
    if (resolve) {
      state.waiting.delete(message.id);
      resolve(message);
    }
  };
  ws.onclose = () => {
    badge('conn', 'offline', 'bad');
    for (const resolve of state.waiting.values()) resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'connection lost' } });
    state.waiting.clear();
    // Reconnect with a growing pause while the key is still set.
    if (state.key) setTimeout(connect, 1000);
  };
}

function badge(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.className = `badge ${kind ?? ''}`;
}

function signOut(message = '') {
  state.key = null;
  sessionStorage.removeItem('stockade-key');
  state.ws?.close();
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
}

const isAdmin = () => state.principal?.scopes.includes('admin');

// ---- catalogue: server-side search, virtualised rows, live cells ------------------------------

function searchPath(offset, limit) {
  const q = state.query;
  const params = new URLSearchParams({ q: q.q, sort: q.sort, order: q.order, alerting: String(q.alerting), offset: String(offset), limit: String(limit) });
  return `/v1/skus?${params}`;
}

async function refreshRows() {
  const box = $('rows');
  const first = Math.floor(box.scrollTop / ROW_HEIGHT_PX);
  const visible = Math.ceil(box.clientHeight / ROW_HEIGHT_PX) + ROWS_BUFFER;
  const offset = Math.max(0, first - ROWS_BUFFER);
  const limit = Math.min(500, visible + ROWS_BUFFER, Math.max(1, 10000 - offset));
  const seq = ++state.fetchSeq;
  let page;
  try {
    page = await http('GET', searchPath(offset, limit));
  } catch (err) {
    $('total').textContent = err.message;
    return;
  }
  if (seq !== state.fetchSeq) return; // a newer scroll or search won
  state.total = page.total;
  $('total').textContent = `${page.total.toLocaleString()} SKUs`;
  $('spacer').style.height = `${Math.min(page.total, 10000) * ROW_HEIGHT_PX}px`;
  const keep = new Set(page.skus.map((s) => s.sku));
  for (const [sku, row] of state.rows) if (!keep.has(sku)) {
    row.el.remove();
    state.rows.delete(sku);
  }
  page.skus.forEach((summary, i) => renderRow(summary, offset + i));
  syncSubscriptions([...keep]);
}

function renderRow(summary, index) {
  let row = state.rows.get(summary.sku);
  if (!row) {
    const el = document.createElement('div');
    el.className = 'row';
    el.setAttribute('role', 'row');
    el.dataset.sku = summary.sku;
    el.onclick = () => selectSku(summary.sku);
    $('rows').appendChild(el);
    row = { el, summary };
    state.rows.set(summary.sku, row);
  }
  row.summary = summary;
  row.el.style.top = `${index * ROW_HEIGHT_PX}px`;
  row.el.classList.toggle('selected', summary.sku === state.selected);
  row.el.innerHTML = '';
  const cells = [summary.sku, summary.onHand, summary.reserved, summary.available];
  for (const value of cells) {
    const span = document.createElement('span');
    span.textContent = String(value);
    row.el.appendChild(span);
  }
  row.el.children[3].className = summary.available === 0 ? 'zero' : '';
  row.el.children[3].dataset.testid = `available-${summary.sku}`;
  const alerts = document.createElement('span');
  for (const a of summary.alerts) {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = a;
    alerts.appendChild(tag);
  }
  row.el.appendChild(alerts);
}

/** Watch exactly the SKUs on screen (and the selected one): the server pushes their changes. */
async function syncSubscriptions(visible) {
  const wanted = new Set(visible);
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
  if (row) {
    const index = Math.round(parseFloat(row.el.style.top) / ROW_HEIGHT_PX);
    renderRow({ ...row.summary, onHand: push.onHand, reserved: push.reserved, available: push.available, pending: push.pending }, index);
  }
  if (push.sku === state.selected) {
    addStockPoint(push.at, push.available, push.onHand);
    for (const [field, value] of Object.entries({ onHand: push.onHand, reserved: push.reserved, available: push.available, pending: push.pending })) {
      const el = document.querySelector(`[data-testid="detail-${field}"]`);
      if (el) el.textContent = String(value);
    }
    scheduleDetailLists();
  }
}

// ---- the selected SKU -----------------------------------------------------------------------

let listsTimer = null;
/** Reservation lists change with every push: re-read them at most every half second. */
function scheduleDetailLists() {
  if (listsTimer) return;
  listsTimer = setTimeout(() => {
    listsTimer = null;
    if (state.selected) loadLists(state.selected);
  }, 500);
}

async function selectSku(sku) {
  state.selected = sku;
  state.stockSeries = [];
  for (const row of state.rows.values()) row.el.classList.toggle('selected', row.summary.sku === sku);
  const detail = $('detail');
  let view;
  try {
    view = await http('GET', `/v1/skus/${encodeURIComponent(sku)}`);
  } catch (err) {
    detail.textContent = err.message;
    return;
  }
  addStockPoint(Date.now(), view.available, view.onHand);
  detail.innerHTML = `
    <h2>${escapeHtml(sku)} <span class="muted">${escapeHtml(view.category ?? '')}</span></h2>
    <p>On hand <b data-testid="detail-onHand">${view.onHand}</b> · reserved <b data-testid="detail-reserved">${view.reserved}</b> ·
       available <b data-testid="detail-available">${view.available}</b> · waiting <b data-testid="detail-pending">${view.pending}</b>
       ${view.outOfStockFlag ? `<span class="tag">flagged: ${escapeHtml(view.outOfStockFlag.reason)}</span>` : ''}</p>
    <table><thead><tr><th>Location</th><th>On hand</th><th>Reserved</th><th>Safety</th><th>Available</th><th>Minimum</th></tr></thead>
      <tbody>${view.locations.map((l) => `<tr><td>${escapeHtml(l.location)}</td><td>${l.onHand}</td><td>${l.reserved}</td><td>${l.safetyStock}</td><td>${l.available}</td><td>${minimumOf(view.thresholds, l.location)}</td></tr>`).join('')}</tbody></table>
    <div>${view.alerts.map((a) => `<span class="tag ${a.severity}">${escapeHtml(a.type)}${a.location ? '@' + escapeHtml(a.location) : ''}</span>`).join('') || '<span class="muted">No open alerts.</span>'}</div>
    <canvas id="stock-chart" width="600" height="120" aria-label="Available over time"></canvas>
    <p class="muted" id="demand" data-testid="demand"></p>
    <section class="lists">
      <div><b>Reservations</b><ol id="list-active"></ol></div>
      <div><b>Waiting queue</b><ol id="list-pending"></ol></div>
      <div><b>Pre-order queue</b><ol id="list-preorders"></ol></div>
    </section>
    ${isAdmin() ? thresholdsForm(view) : '<p class="muted">An admin key can edit thresholds and flags.</p>'}`;
  if (isAdmin()) wireAdmin(sku, view);
  drawStockChart();
  await Promise.all([loadLists(sku), loadDemand(sku), loadPreorders(sku), syncSubscriptions([...state.rows.keys()])]);
}

function minimumOf(thresholds, location) {
  const t = thresholds ?? {};
  const region = t.regionByLocation?.[location];
  return t.minAvailableByLocation?.[location] ?? (region ? t.minAvailableByRegion?.[region] : undefined) ?? '–';
}

async function loadLists(sku) {
  try {
    const lists = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/reservations?limit=50`);
    fillList('list-active', lists.reservations.map((r) => `${r.quantity} × ${r.customerId} (${r.channel}) until ${new Date(r.expiresAt).toLocaleTimeString()}`));
    fillList('list-pending', lists.pending.map((r) => `${r.requested} × ${r.customerId}, priority ${r.priority}`));
  } catch (err) {
    fillList('list-active', [err.message]);
  }
}

async function loadDemand(sku) {
  const el = $('demand');
  try {
    const d = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/demand`);
    const v = d.velocity ?? {};
    el.textContent = `Sales per day ${fmt(v.perDay)} · per week ${fmt(v.perWeek)} · time to stock-out ${d.timeToStockOutDays == null ? '–' : fmt(d.timeToStockOutDays) + ' days'}${d.highDemand ? ' · HIGH DEMAND' : ''}`;
  } catch (err) {
    el.textContent = err.status === 404 ? 'No demand figures yet.' : `Demand: ${err.message}`;
  }
}

async function loadPreorders(sku) {
  try {
    const q = await http('GET', `/v1/skus/${encodeURIComponent(sku)}/preorders`);
    const items = q.preOrders ?? q.queue ?? q.orders ?? [];
    fillList('list-preorders', items.map((p) => `#${p.position ?? '?'} ${p.customerId ?? p.orderId ?? ''} ${p.quantity ?? ''}`));
  } catch {
    fillList('list-preorders', ['–']);
  }
}

const fmt = (n) => (n == null ? '–' : Number(n).toFixed(2).replace(/\.00$/, ''));

function fillList(id, lines) {
  const list = $(id);
  if (!list) return;
  list.innerHTML = '';
  for (const line of lines) {
    const li = document.createElement('li');
    li.textContent = line;
    list.appendChild(li);
  }
}

function thresholdsForm(view) {
  const t = view.thresholds ?? {};
  const field = (name, label) => `<label>${label}<input name="${name}" type="number" min="0" value="${t[name] ?? ''}" data-testid="threshold-${name}"></label>`;
  return `<form id="thresholds" data-testid="thresholds-form">
      ${field('minAvailable', 'Minimum available')}${field('leadTimeDays', 'Lead time (days)')}
      ${field('lowPercent', 'Low at % of reference')}${field('referenceLevel', 'Reference level')}
      <button type="submit" data-testid="save-thresholds">Save thresholds</button>
      <span id="thresholds-result" class="muted" data-testid="thresholds-result"></span>
    </form>
    <button type="button" id="flag" data-testid="flag">${view.outOfStockFlag ? 'Clear out-of-stock flag' : 'Flag out of stock'}</button>`;
}

function wireAdmin(sku, view) {
  $('thresholds').onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    // Fields left empty are dropped; the other threshold settings (time of day, regions) stay.
    const thresholds = { ...view.thresholds };
    for (const name of ['minAvailable', 'leadTimeDays', 'lowPercent', 'referenceLevel']) {
      const raw = form.get(name);
      if (raw === '' || raw === null) delete thresholds[name];
      else thresholds[name] = Number(raw);
    }
    try {
      await http('PUT', `/v1/skus/${encodeURIComponent(sku)}/thresholds`, thresholds);
      $('thresholds-result').textContent = 'Saved.';
    } catch (err) {
      $('thresholds-result').textContent = `${err.code ?? ''} ${err.message}`;
    }
  };
  $('flag').onclick = async () => {
    try {
      if (view.outOfStockFlag) await http('DELETE', `/v1/skus/${encodeURIComponent(sku)}/out-of-stock-flag`);
      else await http('PUT', `/v1/skus/${encodeURIComponent(sku)}/out-of-stock-flag`, { reason: 'flagged from the dashboard', flaggedBy: state.principal.keyId });
    } finally {
      selectSku(sku);
    }
  };
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
    const page = await http('GET', '/v1/skus?alerting=true&limit=100&sort=alerts&order=desc');
    for (const summary of page.skus) {
      const view = await http('GET', `/v1/skus/${encodeURIComponent(summary.sku)}`);
      for (const alert of view.alerts) state.alerts.set(alert.id, alert);
    }
  } catch {
    // The feed still fills from pushes.
  }
  renderAlerts();
}

function onAlert(alert) {
  state.alerts.delete(alert.id);
  state.alerts.set(alert.id, alert);
  while (state.alerts.size > ALERTS_SHOWN_MAX) state.alerts.delete(state.alerts.keys().next().value);
  renderAlerts();
  if (alert.sku === state.selected) selectSku(alert.sku);
}

function renderAlerts() {
  const list = $('alert-feed');
  list.innerHTML = '';
  for (const alert of [...state.alerts.values()].reverse()) {
    const li = document.createElement('li');
    li.className = alert.status;
    li.dataset.alertId = alert.id;
    li.innerHTML = `<span class="tag ${alert.severity}">${escapeHtml(alert.severity)}</span> ${escapeHtml(alert.summary)}
      <br><span class="muted">${escapeHtml(alert.status)} · ${new Date(alert.status === 'resolved' ? alert.resolvedAt : alert.raisedAt).toLocaleTimeString()}</span>`;
    if (alert.status === 'firing') {
      const button = document.createElement('button');
      button.textContent = alert.ackedBy ? `acknowledged by ${alert.ackedBy}` : 'Acknowledge';
      button.disabled = Boolean(alert.ackedBy);
      button.dataset.testid = 'ack';
      button.onclick = async () => {
        try {
          const answer = await http('POST', `/v1/alerts/${encodeURIComponent(alert.id)}/ack`, { by: state.principal.keyId });
          alert.ackedBy = answer.ackedBy ?? state.principal.keyId;
          renderAlerts();
        } catch (err) {
          button.textContent = `${err.code ?? 'error'}: ${err.message}`;
        }
      };
      li.appendChild(button);
    }
    list.appendChild(li);
  }
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
  push(s.alert, ops.alertPublish.p99Ms);
  $('rate-now').textContent = ops.reserve.perSecond.toLocaleString();
  $('lat-now').textContent = `${ops.reserve.p50Ms} / ${ops.reserve.p99Ms}`;
  $('wal-now').textContent = String(ops.walCommit.p99Ms);
  $('alert-now').textContent = String(ops.alertPublish.p99Ms);
  drawLines($('chart-rate'), [s.rate], ['#2456c8']);
  drawLines($('chart-latency'), [s.p50, s.p99], ['#137a3a', '#b3261e']);
  drawLines($('chart-wal'), [s.wal], ['#a15c00']);
  drawLines($('chart-alert'), [s.alert], ['#6b3fc8']);
  badge('shards', `shards ${ops.shards.depths.length} ${ops.shards.ready ? 'ready' : 'recovering'} · queue ${ops.shards.depths.reduce((a, b) => a + b, 0)}`, ops.shards.ready ? 'ok' : 'warn');
  if (!ops.streams) {
    badge('nats', 'NATS off', '');
    badge('lag', 'lag –', '');
  } else {
    badge('nats', ops.streams.connected ? 'NATS connected' : 'NATS away', ops.streams.connected ? 'ok' : 'bad');
    const stock = ops.streams.stock;
    badge('lag', stock ? `stock events: applied to #${stock.lastAppliedSequence}, ${stock.deadLettered} dead` : 'consumer starting', stock?.running ? 'ok' : 'warn');
  }
}

function drawLines(canvas, lines, colours) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const max = Math.max(1e-9, ...lines.flat());
  const points = Math.max(2, ...lines.map((l) => l.length));
  lines.forEach((line, i) => {
    ctx.strokeStyle = colours[i];
    ctx.lineWidth = 2;
    ctx.beginPath();
    line.forEach((value, x) => {
      const px = (x / (points - 1)) * width;
      const py = height - 4 - (value / max) * (height - 8);
      if (x === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
  });
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
  refreshRows();
};
for (const header of document.querySelectorAll('.thead span')) {
  header.onclick = () => {
    const sort = header.dataset.sort;
    state.query.order = state.query.sort === sort && state.query.order === 'asc' ? 'desc' : 'asc';
    state.query.sort = sort;
    for (const h of document.querySelectorAll('.thead span')) h.className = h === header ? `sorted ${state.query.order}` : '';
    refreshRows();
  };
}
let scrollTimer = null;
$('rows').onscroll = () => {
  clearTimeout(scrollTimer);
  scrollTimer = setTimeout(refreshRows, 50);
};
$('login').onsubmit = (event) => {
  event.preventDefault();
  state.key = $('key').value.trim();
  sessionStorage.setItem('stockade-key', state.key);
  connect();
};
$('signout').onclick = () => signOut();

if (state.key) connect();
else $('login').hidden = false;
