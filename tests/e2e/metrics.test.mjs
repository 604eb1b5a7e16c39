// End-to-end: the key-metrics page (the widget's advanced-settings page, a wasm module loaded on
// demand) shows the numbers the test computes on its own from the sandbox's data with the plain
// JavaScript reference, drills down to deals that open in one click, exports CSV and XLSX files
// that read back, answers narrower filters without requests, cancels, and cleans up.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { startSandbox, launchBrowser, openPage, visit, i18n, fill, unexpectedProblems } from './harness.mjs';
import { keyMetrics, zoneOffsets, customCalendar } from './metrics_reference.mjs';

let sandbox;
let browser;
let page;
const ru = i18n('ru');
const PAGE = '/settings/widgets/leakguard/';
const ROOT = '[data-leakguard-metrics]';

// Stage limits and a calendar the reference implements: two working days to be stuck, five to
// escalate, Saturdays and Sundays off plus one holiday.
const SETTINGS = {
  stuck: { enabled: true, default_limit: { working_days: 2 }, default_escalate_after: { working_days: 5 }, stages: [] },
  calendar: { kind: 'custom', weekend: [6, 7], holidays: [], extra_working_days: [] },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One GET with the admin's bearer token, at a pace the 7 rps limit accepts. */
async function get(path) {
  for (;;) {
    await sleep(160);
    const res = await sandbox.api('GET', path);
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

let state;

before(async () => {
  sandbox = await startSandbox();
  browser = await launchBrowser();
  const [leads, tasks, reasons, pipelines] = [
    await all('/api/v4/leads', 'leads'),
    await all('/api/v4/tasks', 'tasks'),
    (await get('/api/v4/leads/loss_reasons')).body._embedded.loss_reasons,
    (await get('/api/v4/leads/pipelines')).body._embedded.pipelines,
  ];
  const account = (await get('/api/v4/account?with=datetime_settings')).body;
  const users = (await get('/api/v4/users?limit=250')).body._embedded.users;
  state = { leads, tasks, reasons, pipelines, users, zone: account._embedded?.datetime_settings?.timezone || 'Europe/Moscow' };
  assert.ok(leads.length > 1000 && tasks.length > 1000, 'the demo data is there');
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
});

afterEach(async () => {
  if (page) {
    // No 429 is expected: the page's limiter counts a slot until a window after its answer, so the
    // sandbox never sees more than 7 arrivals in a second however busy the machine is.
    const problems = unexpectedProblems(page);
    await page.context().close();
    page = null;
    assert.deepEqual(problems, [], 'the page logged console errors or failed requests');
  }
  await sandbox.control('DELETE', '/__sandbox/faults');
  // amoCRM counts requests per second per client: let the last test's requests age out.
  await sleep(1100);
});

/** Saves the widget's settings (the `config` custom field) as the admin, with the page's session. */
async function saveSettings(p, settings) {
  await visit(p, sandbox, '/settings/widgets/');
  await p.waitForLoadState('networkidle');
  const cookie = (await p.context().cookies(sandbox.app)).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(`${sandbox.app}/ajax/sandbox/widgets/leakguard/settings`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', 'x-requested-with': 'XMLHttpRequest' },
    body: JSON.stringify({ active: 'Y', fields: { config: JSON.stringify(settings) } }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function ready(p) {
  const root = p.locator(`${ROOT}[data-state="ready"]`);
  await root.waitFor({ state: 'visible', timeout: 60_000 });
  return {
    now: Number(await root.getAttribute('data-now')),
    from: Number(await root.getAttribute('data-from')),
    to: Number(await root.getAttribute('data-to')),
  };
}

function reference(shown, filter = {}) {
  return keyMetrics({
    leads: state.leads,
    tasks: state.tasks,
    now: shown.now,
    filter: { from: shown.from, to: shown.to, pipeline: null, manager: null, group: null, ...filter },
    stuck: SETTINGS.stuck,
    isWorking: customCalendar(SETTINGS.calendar),
    offset: zoneOffsets(state.zone),
  });
}

async function tile(p, metric) {
  const card = p.locator(`${ROOT} [data-metric="${metric}"]`);
  const value = async (field) => Number(await card.locator(`[data-field="${field}"]`).getAttribute('data-value'));
  return { count: await value('count'), value: await value('value') };
}

/** The `data-value` of every numeric cell of a table, row by row, with the row's first text. */
async function tableRows(p, id) {
  return p.locator(`${ROOT} table[data-table="${id}"] tbody tr`).evaluateAll((rows) =>
    rows.map((row) => {
      const cells = [...row.querySelectorAll('td')];
      return cells.map((td) => {
        const valued = td.querySelector('[data-value]');
        return valued ? Number(valued.getAttribute('data-value')) : td.textContent.trim();
      });
    }),
  );
}

const userName = (id) => state.users.find((u) => u.id === id)?.name;
const reasonName = (id) => (id == null ? ru.ui.metrics.no_reason : state.reasons.find((r) => r.id === id)?.name);
const stageNames = (key) => {
  const [pipelineId, statusId] = key.split(':').map(Number);
  const pipeline = state.pipelines.find((p) => p.id === pipelineId);
  const stage = pipeline._embedded.statuses.find((s) => s.id === statusId);
  return [pipeline.name, stage.name];
};

test('the page shows the numbers the reference computes from the sandbox data, with few requests', async () => {
  page = await openPage(browser);
  await saveSettings(page, SETTINGS);
  await sandbox.control('DELETE', '/__sandbox/requests');
  await visit(page, sandbox, PAGE);
  const shown = await ready(page);
  assert.ok(shown.to - shown.from >= 29 * 86400 && shown.to > shown.now, 'the default period is the last 30 days');
  const ref = reference(shown);

  assert.deepEqual(await tile(page, 'lost'), { count: ref.lost.total.count, value: ref.lost.total.value });
  assert.ok(ref.lost.total.count > 0 && ref.lostPrevious.total.count > 0, 'the demo has lost deals in both periods');
  assert.deepEqual(await tile(page, 'overdue_tasks'), { count: ref.overdueTasks.total.count, value: ref.overdueTasks.total.value });
  assert.deepEqual(await tile(page, 'without_task'), { count: ref.withoutTask.total.count, value: ref.withoutTask.total.value });
  assert.deepEqual(await tile(page, 'stuck'), { count: ref.stuck.total.count, value: ref.stuck.total.value });
  assert.ok(ref.stuck.total.count > 0 && ref.escalated.count > 0, 'some demo deals are stuck and some escalated');
  const trend = await page.locator(`${ROOT} [data-metric="lost"] [data-trend]`).getAttribute('data-trend');
  const delta = ref.lost.total.count - ref.lostPrevious.total.count;
  assert.equal(trend, delta > 0 ? 'up' : delta < 0 ? 'down' : 'flat');
  const payments = await page.locator(`${ROOT} [data-metric="overdue_payments"]`).innerText();
  assert.ok(payments.includes(ru.ui.metrics.payments_none), payments);

  // Lost deals by reason: the same rows in the same order, with shares and the previous period.
  const reasons = await tableRows(page, 'lost-reasons');
  const expectedReasons = ref.lost.byReason.map((r) => {
    const before = ref.lostPrevious.byReason.find((p) => p.reason === r.reason)?.count ?? 0;
    return [reasonName(r.reason), r.count, r.value, r.countShareBp, r.valueShareBp, before, r.count - before];
  });
  assert.deepEqual(reasons.slice(0, expectedReasons.length), expectedReasons);

  // Money at risk per stage and per manager.
  for (const [id, breakdown] of [['overdue_tasks', ref.overdueTasks], ['without_task', ref.withoutTask], ['stuck', ref.stuck]]) {
    const stages = await tableRows(page, `${id}-stages`);
    const expected = [...breakdown.byStage].map(([key, b]) => [...stageNames(key), b.count, b.value]);
    const sort = (rows) => [...rows].sort((a, b) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`));
    assert.deepEqual(sort(stages), sort(expected), `${id} by stage`);
    const managers = await tableRows(page, `${id}-managers`);
    const expectedManagers = [...breakdown.byManager].map(([user, b]) => [userName(user), b.count, b.value]);
    assert.deepEqual(new Set(managers.map(JSON.stringify)), new Set(expectedManagers.map(JSON.stringify)), `${id} by manager`);
  }
  // Charts are drawn as SVG.
  assert.ok((await page.locator(`${ROOT} svg.leakguard-metrics__chart rect`).count()) > 3);

  // Requests: two for the names, then the open-stage and closed_at lists and the open tasks.
  const log = (await sandbox.control('GET', '/__sandbox/requests')).body;
  const api = log.filter((e) => e.client === 'session' && e.path.startsWith('/api/v4/'));
  const openDeals = state.leads.filter((l) => l.status_id !== 142 && l.status_id !== 143).length;
  const lostBoth = state.leads.filter((l) => l.status_id === 143 && l.closed_at >= 2 * shown.from - shown.to && l.closed_at < shown.to).length;
  const openTasks = state.tasks.filter((t) => !t.is_completed && t.entity_type === 'leads').length;
  const pages = [openDeals, lostBoth, openTasks].map((n) => Math.max(1, Math.ceil(n / 250)));
  const probes = pages.reduce((sum, n) => sum + 1 + Math.ceil(Math.log2(n + 1)), 0);
  assert.ok(api.length <= 2 + pages.reduce((a, b) => a + b) + probes, `${api.length} requests for ${pages} pages`);
  assert.ok(api.some((e) => decodeURIComponent(e.query).includes('filter[statuses][0][status_id]')), 'open stages are filtered by the API');
  assert.ok(api.some((e) => decodeURIComponent(e.query).includes('filter[closed_at][from]')), 'lost deals are filtered by closing time');
  assert.ok(api.some((e) => e.path === '/api/v4/tasks' && decodeURIComponent(e.query).includes('filter[is_completed]=0')), 'only open tasks are read');
  assert.ok(api.every((e) => e.status === 200 || e.status === 204), `no request failed: ${JSON.stringify(api.filter((e) => e.status !== 200 && e.status !== 204).map((e) => [e.method, e.path, e.query, e.status]))}`);
});

test('every number drills down to its deals, and a deal opens in one click', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, PAGE);
  const shown = await ready(page);
  const ref = reference(shown);
  await page.locator(`${ROOT} [data-metric="without_task"] button[data-field="count"]`).click();
  const drill = page.locator(`${ROOT} [data-part="drill"][data-open]`);
  await drill.waitFor({ state: 'visible' });
  const title = await drill.locator('h3').innerText();
  assert.ok(title.includes(String(ref.withoutTask.total.count)) || title.includes(ref.withoutTask.total.count.toLocaleString('ru-RU')), title);
  const ids = await drill.locator('a.js-navigate-link[data-deal]').evaluateAll((links) => links.map((a) => Number(a.dataset.deal)));
  assert.equal(ids.length, Math.min(100, ref.withoutTask.total.count));
  const expected = new Set(ref.withoutTask.total.deals);
  assert.ok(ids.every((id) => expected.has(id)), 'every listed deal has no open task');
  if (ref.withoutTask.total.count > 100) {
    await drill.locator('button[data-action="more"]').click();
    assert.equal(await drill.locator('a[data-deal]').count(), Math.min(200, ref.withoutTask.total.count));
  }
  const first = drill.locator('a[data-deal]').first();
  assert.equal(await first.getAttribute('href'), `/leads/detail/${ids[0]}`);
  await first.click();
  await page.waitForURL(`**/leads/detail/${ids[0]}`);
  await page.locator('[data-leakguard-root]').waitFor({ state: 'attached', timeout: 15_000 });
  assert.equal(await page.locator(ROOT).count(), 0, 'leaving the page removed it');
  assert.equal(await page.locator('style[data-leakguard-metrics-style]').count(), 0, 'and its stylesheet');
});

/** A minimal RFC 4180 reader. */
function readCsv(text, separator) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += c;
  }
  return rows;
}

/** The files of a zip archive (stored or deflated), by name. */
function unzip(buffer) {
  const end = buffer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buffer.readUInt16LE(end + 10);
  let at = buffer.readUInt32LE(end + 16);
  const files = {};
  for (let i = 0; i < count; i++) {
    const method = buffer.readUInt16LE(at + 10);
    const size = buffer.readUInt32LE(at + 20);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extra = buffer.readUInt16LE(at + 30);
    const comment = buffer.readUInt16LE(at + 32);
    const local = buffer.readUInt32LE(at + 42);
    const name = buffer.toString('utf8', at + 46, at + 46 + nameLength);
    const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
    const data = buffer.subarray(start, start + size);
    files[name] = (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

async function download(p, button) {
  const [file] = await Promise.all([p.waitForEvent('download'), button.click()]);
  return { name: file.suggestedFilename(), bytes: readFileSync(await file.path()) };
}

test('tables export to CSV with a BOM and to XLSX, and both read back', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, PAGE);
  const shown = await ready(page);
  const ref = reference(shown);
  const csv = await download(page, page.locator(`${ROOT} button[data-action="export"][data-table="lost-reasons"][data-format="csv"]`));
  assert.match(csv.name, /^leakguard-lost-reasons-\d{4}-\d\d-\d\d\.csv$/);
  assert.deepEqual([...csv.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a byte-order mark');
  const rows = readCsv(csv.bytes.toString('utf8').slice(1), ';');
  assert.deepEqual(rows[0], [
    ru.ui.metrics.col.reason, ru.ui.metrics.col.deals, ru.ui.metrics.col.value, ru.ui.metrics.col.share_deals,
    ru.ui.metrics.col.share_value, ru.ui.metrics.col.previous, ru.ui.metrics.col.change,
  ]);
  for (const [i, r] of ref.lost.byReason.entries()) {
    const share = (r.countShareBp / 100).toFixed(1).replace('.', ',');
    assert.deepEqual(rows[i + 1].slice(0, 4), [reasonName(r.reason), String(r.count), String(r.value), share]);
  }

  // The lost deals list, with links, as an Excel file from the lazily loaded export module.
  await page.locator(`${ROOT} [data-metric="lost"] button[data-field="count"]`).click();
  const drill = page.locator(`${ROOT} [data-part="drill"][data-open]`);
  await drill.waitFor({ state: 'visible' });
  const xlsx = await download(page, drill.locator('button[data-action="export"][data-format="xlsx"]'));
  assert.match(xlsx.name, /^leakguard-deals-.*\.xlsx$/);
  const files = unzip(xlsx.bytes);
  const sheet = files['xl/worksheets/sheet1.xml'];
  const strings = files['xl/sharedStrings.xml'];
  const links = files['xl/worksheets/_rels/sheet1.xml.rels'];
  const lost = state.leads.filter((l) => ref.lost.total.deals.includes(l.id));
  assert.equal((sheet.match(/<row /g) || []).length, lost.length + 1, 'a header and one row per lost deal');
  for (const deal of lost.slice(0, 20)) {
    assert.ok(sheet.includes(`<v>${deal.price}</v>`), `the budget of ${deal.id}`);
    assert.ok(links.includes(`/leads/detail/${deal.id}`), `the link to ${deal.id}`);
  }
  assert.ok(strings.includes(ru.ui.metrics.col.deal), 'the header is there');
});

test('a narrower filter is answered from the loaded data, without a request', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, PAGE);
  await ready(page);
  const pipeline = state.pipelines[0];
  const manager = state.users.find((u) => !u.rights?.is_admin) ?? state.users[1];
  const apiRequests = async () =>
    (await sandbox.control('GET', '/__sandbox/requests')).body.filter((e) => e.path.startsWith('/api/v4/')).length;
  const before = await apiRequests();
  await page.locator(`${ROOT} select[name="pipeline"]`).selectOption(String(pipeline.id));
  await page.locator(`${ROOT} select[name="manager"]`).selectOption(String(manager.id));
  const shown = await ready(page);
  const ref = reference(shown, { pipeline: pipeline.id, manager: manager.id });
  await page.waitForFunction(
    ([selector, count]) => document.querySelector(selector)?.getAttribute('data-value') === String(count),
    [`${ROOT} [data-metric="overdue_tasks"] [data-field="count"]`, ref.overdueTasks.total.count],
  );
  assert.deepEqual(await tile(page, 'lost'), { count: ref.lost.total.count, value: ref.lost.total.value });
  assert.deepEqual(await tile(page, 'without_task'), { count: ref.withoutTask.total.count, value: ref.withoutTask.total.value });
  assert.deepEqual(await tile(page, 'stuck'), { count: ref.stuck.total.count, value: ref.stuck.total.value });
  assert.equal(await apiRequests(), before, 'no request for a filter inside the loaded data');
  // Switching to another period reloads only what is missing, and says so with the progress bar.
  await page.locator(`${ROOT} select[name="period"]`).selectOption('last_month');
  const later = await ready(page);
  const month = reference(later, { pipeline: pipeline.id, manager: manager.id });
  assert.deepEqual(await tile(page, 'lost'), { count: month.lost.total.count, value: month.lost.total.value });
});

test('loading shows pages loaded of estimated and can be cancelled', async () => {
  // Slow answers keep the load going long enough to look at it.
  await sandbox.control('POST', '/__sandbox/faults', { method: 'GET', path: '/api/v4/tasks', kind: 'latency', ms: 400, count: 100 });
  page = await openPage(browser);
  // Cancelling aborts the requests in flight, which the browser reports.
  page.expected = [/api\/v4\/.* net::ERR_ABORTED/];
  await visit(page, sandbox, PAGE);
  const bar = page.locator(`${ROOT}[data-state="loading"] [data-progress]`);
  await page.waitForFunction((selector) => Number(document.querySelector(selector)?.getAttribute('data-loaded')) > 0, `${ROOT} [data-progress]`);
  const loaded = Number(await bar.getAttribute('data-loaded'));
  const estimate = Number(await bar.getAttribute('data-estimate'));
  assert.ok(estimate >= loaded && loaded > 0, `${loaded} of ${estimate}`);
  const text = await bar.innerText();
  assert.ok(text.includes(fill(ru.ui.metrics.progress, { loaded: '', total: '' }).split(':')[0]), text);
  await page.locator(`${ROOT} button[data-action="cancel"]`).click();
  await page.locator(`${ROOT}[data-state="cancelled"]`).waitFor();
  assert.ok((await page.locator(ROOT).innerText()).includes(ru.ui.metrics.cancelled));
  await sandbox.control('DELETE', '/__sandbox/faults');
  await page.locator(`${ROOT} button[data-action="refresh"]`).click();
  await ready(page);
});
