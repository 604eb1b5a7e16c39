// End-to-end: the payments report of the key-metrics page ("Отчёт по платежам") on the demo, whose
// LeakGuard catalog holds planned payments, payments and expenses of a share of the deals. The
// margin plan, the overdue list and the "Unpaid money" leak must equal what this test computes on
// its own, in plain JavaScript, from the sandbox's catalog and deals; an overdue deal opens in one
// click; the load keeps to the 7 requests per second the account allows.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, startBackend, freePort, launchBrowser, openPage, visit, i18n, unexpectedProblems } from './harness.mjs';

let sandbox;
let browser;
let page;
let data;
const ru = i18n('ru');
const PAGE = '/settings/widgets/leakguard/';
const ROOT = '[data-leakguard-metrics]';
const PART = '[data-part="payments"]';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One GET with the admin's bearer token, at a pace the 7 rps limit accepts. */
async function get(path, box = sandbox) {
  for (;;) {
    await sleep(160);
    const res = await box.api('GET', path);
    if (res.status !== 429) return res;
    await sleep(1100);
  }
}

/** Every item of a list. */
async function all(path, key) {
  const items = [];
  for (let number = 1; ; number++) {
    const separator = path.includes('?') ? '&' : '?';
    const res = await get(`${path}${separator}limit=250&page=${number}`);
    if (res.status === 204) return items;
    assert.equal(res.status, 200, `${path} page ${number}`);
    items.push(...res.body._embedded[key]);
    if (!res.body._links?.next) return items;
  }
}

// ---- The plain JavaScript reference -------------------------------------------------------------

/** `YYYY-MM-DD` of a Unix second in `zone`. */
function localDate(seconds, zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date(seconds * 1000));
}

const days = (from, to) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** `"15000.50"` in kopecks, with integers only. */
function minor(text) {
  const [whole, fraction = ''] = String(text).trim().split('.');
  return Number(whole) * 100 + Number((fraction + '00').slice(0, 2));
}

/** The records of the catalog's elements, void ones left out. */
function records(elements, store, zone) {
  const byId = Object.fromEntries(Object.entries(store.fields).map(([key, id]) => [id, key]));
  const out = [];
  for (const element of elements) {
    const v = {};
    for (const field of element.custom_fields_values ?? []) v[byId[field.field_id]] = field.values?.[0]?.value;
    if (!['plan', 'payment', 'expense'].includes(v.kind)) continue;
    out.push({
      id: element.id,
      kind: v.kind,
      amount: minor(v.amount),
      // Local midnight, or midnight UTC: half a day later is the intended date either way.
      date: localDate(Number(v.date) + 43_200, zone),
      planned: v.plan ? Number(v.plan) : null,
      lead: Number(v.lead),
    });
  }
  return out;
}

/** The core's allocation: linked payments first, the rest to the oldest unpaid rows, in date order. */
function allocate(plans, payments) {
  const rows = plans.map((p) => ({ id: p.id, due: p.date, remaining: p.amount }))
    .sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.id - b.id));
  const spill = [];
  for (const pay of payments.filter((p) => p.amount > 0)
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.id - b.id))) {
    let left = pay.amount;
    const row = rows.find((r) => r.id === pay.planned);
    if (row) {
      const used = Math.min(left, row.remaining);
      row.remaining -= used;
      left -= used;
    }
    if (left > 0) spill.push(left);
  }
  for (let left of spill) {
    for (const row of rows.filter((r) => r.remaining > 0)) {
      const used = Math.min(left, row.remaining);
      row.remaining -= used;
      left -= used;
      if (left === 0) break;
    }
  }
  return rows;
}

function reference({ elements, store, leads, zone, now, month, targets }) {
  const list = records(elements, store, zone);
  const responsible = new Map(leads.map((l) => [l.id, l.responsible_user_id]));
  const deleted = new Set(leads.filter((l) => l.is_deleted).map((l) => l.id));
  const byDeal = new Map();
  for (const r of list) {
    if (!byDeal.has(r.lead)) byDeal.set(r.lead, []);
    byDeal.get(r.lead).push(r);
  }
  const today = localDate(now, zone);
  const overdue = [];
  const facts = new Map([['company', 0]]);
  for (const [deal, rs] of byDeal) {
    if (deleted.has(deal)) continue;
    const manager = responsible.get(deal) ?? 0;
    for (const row of allocate(rs.filter((r) => r.kind === 'plan'), rs.filter((r) => r.kind === 'payment'))) {
      if (row.remaining > 0 && row.due < today) {
        overdue.push({ deal, planned: row.id, manager, amount: row.remaining, days: days(row.due, today) });
      }
    }
    const inMonth = rs.filter((r) => r.date.slice(0, 7) === month);
    if (!inMonth.some((r) => r.kind === 'payment' || r.kind === 'expense')) continue;
    const margin = inMonth.reduce((sum, r) => sum + (r.kind === 'payment' ? Math.max(r.amount, 0) : 0), 0)
      - inMonth.reduce((sum, r) => sum + (r.kind === 'expense' ? Math.max(r.amount, 0) : 0), 0);
    facts.set('company', facts.get('company') + margin);
    facts.set(`user:${manager}`, (facts.get(`user:${manager}`) ?? 0) + margin);
  }
  overdue.sort((a, b) => b.days - a.days || a.deal - b.deal || a.planned - b.planned);
  for (const t of targets.filter((t) => t.month === month)) {
    const key = t.scope.kind === 'company' ? 'company' : `user:${t.scope.user_id}`;
    if (!facts.has(key)) facts.set(key, 0);
  }
  const keyOf = (k) => (k === 'company' ? -1 : Number(k.slice(5)));
  const margin = [...facts.entries()].sort((a, b) => keyOf(a[0]) - keyOf(b[0])).map(([key, fact]) => {
    const target = targets.find((t) => t.month === month
      && (t.scope.kind === 'company' ? key === 'company' : key === `user:${t.scope.user_id}`));
    const amount = target?.amount_minor ?? null;
    // Basis points, rounded half away from zero.
    const bp = amount > 0 ? Math.sign(fact) * Math.floor((Math.abs(fact) * 20_000 + amount) / (2 * amount)) : null;
    return { key, fact, target: amount, bp };
  });
  return { overdue, margin };
}

// ---- The page ---------------------------------------------------------------------------------

before(async () => {
  sandbox = await startSandbox();
  browser = await launchBrowser();
  const account = (await get('/api/v4/account?with=datetime_settings')).body;
  const catalogs = (await get('/api/v4/catalogs')).body._embedded.catalogs;
  const catalog = catalogs.find((c) => c.type === 'regular' && c.name.startsWith('LeakGuard'));
  assert.ok(catalog, 'the demo has LeakGuard\'s payments catalog');
  data = {
    zone: account._embedded?.datetime_settings?.timezone || 'Europe/Moscow',
    catalog,
    elements: await all(`/api/v4/catalogs/${catalog.id}/elements`, 'elements'),
    leads: await all('/api/v4/leads', 'leads'),
  };
  assert.ok(data.elements.length > 100, 'the demo has payment records');
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
});

afterEach(async () => {
  if (page) {
    page.expected = [...(page.expected ?? []), /status of 429 \(Too Many Requests\)/];
    const problems = unexpectedProblems(page);
    await page.context().close();
    page = null;
    assert.deepEqual(problems, [], 'the page logged console errors or failed requests');
  }
  await sleep(1100);
});

/** The stored configuration, as the page's widget object has it. */
const stored = (p) => p.evaluate(() => JSON.parse(window.APP.widgets.list.leakguard.params.config || 'null'));

/** Saves `config` as the widget's settings with the page's session. */
async function save(p, config) {
  await p.evaluate(async (text) => {
    const res = await fetch('/ajax/sandbox/widgets/leakguard/settings', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-Sandbox-Client': 'host' },
      body: JSON.stringify({ active: 'Y', fields: { config: text } }),
    });
    const body = await res.text();
    if (!res.ok) throw new Error(body);
  }, JSON.stringify(config));
}

/** The rows of a table as arrays of cells `{text, value, deal}`. */
const rowsOf = (p, table) => p.locator(`${PART} table[data-table="${table}"] tbody tr`).evaluateAll((trs) =>
  trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => {
    const inner = td.firstElementChild;
    return { text: td.innerText.trim(), value: inner?.getAttribute('data-value'), deal: inner?.getAttribute('data-deal') };
  })));

test('the payments report equals the reference: margin plan with completion, overdue payments longest first, and the Unpaid money leak', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, '/settings/widgets/');
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  const config = await stored(page);
  assert.ok(config?.payments?.store?.catalog_id === data.catalog.id, 'the demo settings point at the catalog');
  const month = localDate(Date.now() / 1000, data.zone).slice(0, 7);
  const managers = [...new Set(data.leads.map((l) => l.responsible_user_id))].sort((a, b) => a - b);
  const targets = [
    { month, scope: { kind: 'company' }, amount_minor: 5_000_000_00 },
    { month, scope: { kind: 'manager', user_id: managers[0] }, amount_minor: 700_000_00 },
    // A target without any margin yet still gets its line.
    { month, scope: { kind: 'manager', user_id: 999_999 }, amount_minor: 1_00 },
  ];
  await save(page, { ...config, payments: { ...config.payments, margin_plan: targets } });

  await sandbox.control('DELETE', '/__sandbox/requests');
  const started = Date.now();
  await visit(page, sandbox, PAGE);
  const part = page.locator(`${ROOT} ${PART}[data-state="ready"]`);
  await part.waitFor({ timeout: 120_000 });
  const seconds = (Date.now() - started) / 1000;
  const log = (await sandbox.control('GET', '/__sandbox/requests')).body.filter((r) => r.path.startsWith('/api/v4/'));
  const elementsRequests = log.filter((r) => r.path === `/api/v4/catalogs/${data.catalog.id}/elements`);
  const dealRequests = log.filter((r) => r.path === '/api/v4/leads' && /filter(%5B|\[)id(%5D|\])/.test(r.query ?? ''));
  console.log(`# payments report: ready in ${seconds.toFixed(1)} s on ${data.leads.length} deals and ${data.elements.length} records; ` +
    `${elementsRequests.length} catalog pages, ${dealRequests.length} deal batches, ${log.length} API requests for the whole page`);
  const stamps = log.map((r) => r.ts_ms).sort((a, b) => a - b);
  for (let i = 7; i < stamps.length; i++) {
    assert.ok(stamps[i] - stamps[i - 7] >= 1000 || log.some((r) => r.status === 429), 'never 8 requests in a second');
  }

  const now = Number(await page.locator(ROOT).getAttribute('data-now'));
  const expected = reference({ ...data, store: config.payments.store, now, month, targets });
  assert.equal(await page.locator(`${PART} [data-payments-month]`).inputValue(), month, 'the current month by default');

  // The margin plan: company first, then managers by id; completion in basis points.
  const margin = await rowsOf(page, `margin-${month}`);
  assert.equal(margin.length, expected.margin.length);
  assert.equal(margin[0][0].text, ru.ui.metrics.payments.company);
  for (const [i, row] of expected.margin.entries()) {
    assert.equal(margin[i][3].value ?? null, row.bp === null ? null : String(row.bp), `completion of ${row.key}`);
    const fact = Number(margin[i][2].text.replace(/[^\d,-]/g, '').replace(',', '.')) * 100;
    assert.equal(Math.round(fact), row.fact, `fact of ${row.key}`);
  }

  // The overdue payments: deal, manager, due date, outstanding, days, the longest first.
  const overdue = await rowsOf(page, 'overdue-payments');
  assert.ok(expected.overdue.length > 0, 'the demo has overdue payments');
  assert.equal(overdue.length, expected.overdue.length);
  for (const [i, row] of expected.overdue.entries()) {
    assert.equal(Number(overdue[i][0].deal), row.deal, `row ${i} deal`);
    assert.equal(Number(overdue[i][4].value), row.days, `row ${i} days`);
    const outstanding = Number(overdue[i][3].text.replace(/[^\d,]/g, '').replace(',', '.')) * 100;
    assert.equal(Math.round(outstanding), row.amount, `row ${i} amount`);
  }

  // The Unpaid money leak counts the same overdue payments (every deal: the default filter has none).
  const tile = page.locator(`${ROOT} [data-metric="overdue_payments"]`);
  assert.equal(Number(await tile.locator('[data-field="count"]').getAttribute('data-value')), expected.overdue.length);
  assert.equal(Number(await tile.locator('[data-field="value"]').getAttribute('data-value')),
    expected.overdue.reduce((sum, o) => sum + o.amount, 0));

  // Another month: the plan of that month, without a reload.
  await sandbox.control('DELETE', '/__sandbox/requests');
  const previous = new Date(`${month}-15T00:00:00Z`);
  previous.setUTCMonth(previous.getUTCMonth() - 1);
  const earlier = previous.toISOString().slice(0, 7);
  await page.locator(`${PART} [data-payments-month]`).fill(earlier);
  await page.locator(`${PART} table[data-table="margin-${earlier}"]`).waitFor();
  const before = reference({ ...data, store: config.payments.store, now, month: earlier, targets });
  assert.equal((await rowsOf(page, `margin-${earlier}`)).length, before.margin.length);
  assert.deepEqual((await sandbox.control('GET', '/__sandbox/requests')).body.filter((r) => r.path.startsWith('/api/v4/')), []);

  // A deal of the overdue list opens in one click.
  const first = page.locator(`${PART} table[data-table="overdue-payments"] a[data-deal]`).first();
  const deal = await first.getAttribute('data-deal');
  await first.click();
  await page.waitForURL((url) => url.pathname === `/leads/detail/${deal}`);
});

test('without a payments catalog in the settings the report says how to set it up', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, '/settings/widgets/');
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  const config = await stored(page);
  await save(page, { ...config, payments: { ...config.payments, store: null } });
  await visit(page, sandbox, PAGE);
  const part = page.locator(`${ROOT} ${PART}[data-state="not-configured"]`);
  await part.waitFor({ timeout: 60_000 });
  assert.equal(await part.locator('[data-payments-status]').innerText(), ru.ui.metrics.payments.not_configured);
  const tile = page.locator(`${ROOT} [data-metric="overdue_payments"]`);
  assert.equal(await tile.locator('[data-field="count"]').count(), 0, 'no number without data');
  await save(page, config);
});

test('with the backend installed, the report comes from the backend and equals the same reference, reading no catalog page', async () => {
  const port = await freePort();
  const box = await startSandbox(['--integration', `leakguard=http://127.0.0.1:${port}/oauth/callback`]);
  let backend;
  try {
    // The widget's settings name the demo's catalog and the backend; the backend gets the same
    // settings the way the widget sends them after a save.
    const catalogs = (await box.api('GET', '/api/v4/catalogs')).body._embedded.catalogs;
    const catalog = catalogs.find((c) => c.type === 'regular' && c.name.startsWith('LeakGuard')).id;
    const fields = (await box.api('GET', `/api/v4/catalogs/${catalog}/custom_fields`)).body._embedded.custom_fields;
    const id = (code) => fields.find((f) => f.code === code).id;
    const store = {
      catalog_id: catalog,
      fields: { kind: id('LG_KIND'), amount: id('LG_AMOUNT'), date: id('LG_DATE'), plan: id('LG_PLAN'), lead: id('LG_LEAD'), comment: id('LG_COMMENT') },
    };
    const elements = [];
    for (let n = 1; ; n++) {
      const res = await get(`/api/v4/catalogs/${catalog}/elements?limit=250&page=${n}`, box);
      if (res.status === 204) break;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      elements.push(...res.body._embedded.elements);
      if (!res.body._links?.next) break;
    }
    page = await openPage(browser);
    page.expected = [/oauth\/callback/];
    await visit(page, box, '/settings/widgets/');
    await page.locator('body[data-widgets-ready="1"]').waitFor();
    await save(page, { payments: { enabled: true, store }, backend_url: `http://127.0.0.1:${port}` });
    backend = await startBackend(box, { port });
    const put = await backend.api('PUT', '/api/settings', { payments: { enabled: true, store } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // The first full scan, which reads the payments catalog last, finishes.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const sync = await backend.api('GET', '/api/sync');
      const scanned = sync.body?.runs?.some((run) => run.kind === 'full' && run.finished_at);
      const res = scanned && await backend.api('GET', '/api/metrics');
      if (res && res.status === 200 && res.body.payments?.enabled) break;
      assert.ok(Date.now() < deadline, 'the backend copied the payments in a full scan');
      await sleep(500);
    }
    const reads = [];
    page.on('request', (req) => {
      if (new URL(req.url()).pathname.startsWith(`/api/v4/catalogs/${catalog}/`)) reads.push(req.url());
    });
    await visit(page, box, PAGE);
    const part = page.locator(`${ROOT} ${PART}[data-state="ready"][data-source="backend"]`);
    await part.waitFor({ timeout: 90_000 });
    const now = Number(await page.locator(ROOT).getAttribute('data-now'));
    const month = localDate(now, data.zone).slice(0, 7);
    const expected = reference({ zone: data.zone, elements, leads: data.leads, store, now, month, targets: [] });
    // The backend leaves lost deals out of the overdue list.
    const lost = new Set(data.leads.filter((l) => l.status_id === 143).map((l) => l.id));
    const owed = expected.overdue.filter((o) => !lost.has(o.deal));
    const overdue = await rowsOf(page, 'overdue-payments');
    assert.deepEqual(overdue.map((row) => Number(row[0].deal)), owed.map((o) => o.deal));
    assert.deepEqual(overdue.map((row) => Number(row[4].value)), owed.map((o) => o.days));
    const tile = page.locator(`${ROOT} [data-metric="overdue_payments"]`);
    assert.equal(Number(await tile.locator('[data-field="count"]').getAttribute('data-value')), owed.length);
    const margin = await rowsOf(page, `margin-${month}`);
    assert.equal(margin.length, expected.margin.length);
    assert.deepEqual(reads, [], 'the browser read no catalog page');
  } finally {
    await page?.context().close();
    page = null;
    await backend?.stop();
    await box.stop();
  }
});
