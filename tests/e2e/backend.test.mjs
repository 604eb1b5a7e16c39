// End-to-end: the key-metrics page with the LeakGuard backend installed beside the sandbox.
// The page takes the numbers from the backend's synced copy at once (no list reads from amoCRM),
// shows how fresh the copy is, equals the test's own reference computed from the sandbox's data,
// switches to computing in the browser and back, and works the quality-control queue:
// acknowledge, comment and reassign, with the reassignment checked through the sandbox API.
// Saving the settings form PUTs the settings to the backend (a 422 refuses the save, an
// unreachable backend leaves the push pending). Last, on a sandbox of its own, the backend's
// overdue-payment reminder: one task per overdue plan across a restart, closed when it is paid.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox, startBackend, freePort, launchBrowser, openPage, visit, i18n, fill, unexpectedProblems } from './harness.mjs';
import { keyMetrics, zoneOffsets, customCalendar } from './metrics_reference.mjs';

let sandbox;
let backend;
let browser;
let page;
const ru = i18n('ru');
const PAGE = '/settings/widgets/leakguard/';
const ROOT = '[data-leakguard-metrics]';
const QC = '[data-leakguard-metrics] [data-part="qc"]';

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

/** Waits until `check()` gives a truthy value. */
async function until(what, check, timeout = 90_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

before(async () => {
  // The widget's one-time tokens name the integration's Redirect URI as their audience, so the
  // sandbox is told where the backend will listen before either starts.
  const port = await freePort();
  sandbox = await startSandbox(['--integration', `leakguard=http://127.0.0.1:${port}/oauth/callback`]);
  backend = await startBackend(sandbox, { port });
  browser = await launchBrowser();
  const sync = await until('the first full sync', async () => {
    const res = await backend.api('GET', '/api/sync');
    return res.status === 200 && res.body.full_synced_at ? res.body : null;
  });
  assert.ok(sync.runs.some((run) => run.kind === 'full' && run.leads > 1000), JSON.stringify(sync.runs[0]));
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  await sandbox?.stop();
});

afterEach(async () => {
  if (page) {
    const problems = unexpectedProblems(page);
    await page.context().close();
    page = null;
    assert.deepEqual(problems, [], 'the page logged console errors or failed requests');
  }
  await sleep(1100);
});

/** Saves the widget's settings (the `config` custom field) as the admin, with the page's session. */
async function saveSettings(p, config) {
  await visit(p, sandbox, '/settings/widgets/');
  await p.waitForLoadState('networkidle');
  const cookie = (await p.context().cookies(sandbox.app)).map((c) => `${c.name}=${c.value}`).join('; ');
  // The manifest's one settings field is `config`, the whole configuration as JSON.
  const res = await fetch(`${sandbox.app}/ajax/sandbox/widgets/leakguard/settings`, {
    method: 'POST',
    headers: { cookie, 'x-requested-with': 'XMLHttpRequest', 'content-type': 'application/json' },
    body: JSON.stringify({ active: 'Y', fields: { config: JSON.stringify(config) } }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Opens the advanced-settings page and counts its reads of amoCRM's deal and task lists. */
async function openMetrics(config) {
  page = await openPage(browser);
  await saveSettings(page, config);
  const reads = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname === '/api/v4/leads' || url.pathname === '/api/v4/tasks') reads.push(url.search);
  });
  await visit(page, sandbox, PAGE);
  return reads;
}

async function ready(p, source) {
  const root = p.locator(`${ROOT}[data-state="ready"][data-source="${source}"]`);
  await root.waitFor({ state: 'visible', timeout: 90_000 });
  return {
    now: Number(await root.getAttribute('data-now')),
    from: Number(await root.getAttribute('data-from')),
    to: Number(await root.getAttribute('data-to')),
  };
}

async function tiles(p) {
  const out = {};
  for (const metric of ['lost', 'overdue_tasks', 'without_task']) {
    const card = p.locator(`${ROOT} [data-metric="${metric}"]`);
    const value = async (field) => Number(await card.locator(`[data-field="${field}"]`).getAttribute('data-value'));
    out[metric] = { count: await value('count'), value: await value('value') };
  }
  return out;
}

/** The reference numbers for the page's period from the sandbox's data as it is now. */
async function reference(shown) {
  const leads = await all('/api/v4/leads', 'leads');
  const tasks = await all('/api/v4/tasks', 'tasks');
  const account = (await get('/api/v4/account?with=datetime_settings')).body;
  const m = keyMetrics({
    leads,
    tasks,
    now: shown.now,
    filter: { from: shown.from, to: shown.to, pipeline: null, manager: null, group: null },
    stuck: {},
    isWorking: customCalendar({}),
    offset: zoneOffsets(account._embedded?.datetime_settings?.timezone || 'Europe/Moscow'),
  });
  const pick = (b) => ({ count: b.count, value: b.value });
  return { lost: pick(m.lost.total), overdue_tasks: pick(m.overdueTasks.total), without_task: pick(m.withoutTask.total) };
}

test('the backend serves the key metrics at once, with their freshness, equal to the reference', async () => {
  const reads = await openMetrics({ backend_url: backend.url });
  const shown = await ready(page, 'backend');
  const freshness = page.locator(`${ROOT} [data-freshness]`);
  const syncedAt = Number(await freshness.getAttribute('data-synced-at'));
  assert.ok(syncedAt > 0, 'the copy says when it was synced');
  const prefix = ru.ui.metrics.synced_ago.split('{age}')[0];
  const text = await freshness.textContent();
  assert.ok(text.startsWith(prefix), text);
  assert.match(text, /\d+\s*(с|мин|ч|дн\.)/, text);
  assert.equal(await page.locator(`${ROOT} .leakguard-metrics__source`).textContent(), ru.ui.metrics.source_backend);
  assert.deepEqual(reads, [], 'no deal or task list was read from amoCRM');
  // The backend's automations keep acting in amoCRM (tasks, notes) while the test reads it, so
  // the page is refreshed until its copy and the test's own reading agree.
  let served;
  let expected;
  for (let attempt = 0; ; attempt++) {
    served = await tiles(page);
    expected = await reference(shown);
    if (JSON.stringify(served) === JSON.stringify(expected) || attempt === 8) break;
    await sleep(3000);
    await page.locator(`${ROOT} [data-action="refresh"]`).click();
    await ready(page, 'backend');
  }
  assert.deepEqual(served, expected, 'the backend numbers equal the reference');
  assert.ok(served.without_task.count > 0 && served.lost.count > 0, JSON.stringify(served));

  // A number drills down to its deals, read by id from amoCRM, each opening its card.
  await page.locator(`${ROOT} [data-metric="without_task"] [data-field="count"]`).click();
  const links = page.locator(`${ROOT} [data-part="drill"] a.js-navigate-link`);
  await links.first().waitFor({ timeout: 30_000 });
  assert.equal(await links.count(), Math.min(100, served.without_task.count));
  assert.match(await links.first().getAttribute('href'), /^\/leads\/detail\/\d+$/);
  assert.ok(reads.every((search) => search.includes('filter%5Bid%5D') || search.includes('filter[id]')), reads.join('\n'));

  // Recomputing in the browser reads amoCRM and gives the same numbers; the backend is one click away.
  await page.locator(`${ROOT} [data-action="recompute"]`).click();
  const browserShown = await ready(page, 'browser');
  const computed = await tiles(page);
  const again = await reference(browserShown);
  assert.deepEqual(computed.lost, again.lost, 'the browser numbers equal the reference');
  assert.deepEqual(computed.overdue_tasks, again.overdue_tasks);
  assert.ok(reads.length > 2, 'the browser read the lists');
  await page.locator(`${ROOT} [data-action="use-backend"]`).click();
  await ready(page, 'backend');
});

test('a backend that is down is said clearly and the page computes in the browser', async () => {
  // Nothing listens on this port.
  const reads = await openMetrics({ backend_url: `http://127.0.0.1:${await freePort()}` });
  // The browser reports the refused connection itself.
  page.expected = [/ERR_CONNECTION_REFUSED/, /Failed to load resource/];
  await ready(page, 'browser');
  const notice = await page.locator(`${ROOT} [data-backend-notice]`).textContent();
  assert.equal(notice, fill(ru.ui.metrics.backend_failed, { status: 'network' }));
  assert.ok(reads.length > 0);
  assert.equal(await page.locator(QC).getAttribute('data-qc-state'), 'error');
});

test('without a backend the queue explains that it needs one', async () => {
  await openMetrics({});
  await ready(page, 'browser');
  await page.locator(`${QC}[data-qc-state="needs-backend"]`).waitFor();
  assert.equal(await page.locator(`${QC} [data-qc-message]`).textContent(), ru.ui.qc.needs_backend);
});

test('the quality-control queue lists the breaches and works them: acknowledge, comment, reassign', async () => {
  await openMetrics({ backend_url: backend.url });
  await page.locator(`${QC}[data-qc-state="ready"]`).waitFor({ timeout: 60_000 });
  const queue = (await backend.api('GET', '/api/qc')).body.breaches.filter((b) => !b.acknowledged);
  assert.equal(Number(await page.locator(`${QC} [data-qc-count]`).getAttribute('data-qc-count')), queue.length);
  const rows = page.locator(`${QC} tr[data-breach]`);
  assert.equal(await rows.count(), Math.min(100, queue.length));

  // The sandbox demo's deal without a task is in the queue as "no next step".
  const demo = (await sandbox.control('GET', '/__sandbox/demo')).body;
  assert.ok(demo.deal_without_task && demo.deal_stuck, JSON.stringify(demo));
  assert.ok(
    queue.some((b) => b.deal.id === demo.deal_without_task && b.kind === 'no_next_step'),
    `deal ${demo.deal_without_task} is listed as without a next step`,
  );
  assert.ok(queue.some((b) => b.deal.id === demo.deal_stuck && b.kind === 'stuck'), `deal ${demo.deal_stuck} is listed as stuck`);
  const first = rows.first();
  const firstId = await first.getAttribute('data-breach');
  const breach = queue.find((b) => b.id === firstId);
  assert.equal(await first.locator('td').nth(0).textContent(), ru.ui.qc.kind[breach.kind]);
  assert.equal(await first.locator('a.js-navigate-link').getAttribute('href'), `/leads/detail/${breach.deal.id}`);
  assert.equal(await first.locator('a.js-navigate-link').textContent(), breach.deal.name);
  assert.equal(await first.locator('[data-manager]').textContent(), breach.manager.name);
  assert.equal(Number(await first.locator('[data-value]').getAttribute('data-value')), breach.value);

  // Acknowledge: the row leaves at once and stays gone after a reload of the queue.
  await first.locator('[data-action="qc-ack"]').click();
  assert.equal(await page.locator(`${QC} tr[data-breach="${firstId}"]`).count(), 0);
  await until('the acknowledgement', async () => {
    const now = (await backend.api('GET', '/api/qc')).body.breaches.find((b) => b.id === firstId);
    return now?.acknowledged;
  });
  await page.locator(`${QC} [data-action="qc-refresh"]`).click();
  await page.locator(`${QC}[data-qc-state="ready"]`).waitFor();
  assert.equal(await page.locator(`${QC} tr[data-breach="${firstId}"]`).count(), 0);

  // Comment.
  const second = rows.first();
  const secondId = await second.getAttribute('data-breach');
  await second.locator('[data-action="qc-comment"]').click();
  await page.locator(`${QC} tr[data-breach="${secondId}"] input[name="qc-comment"]`).fill('Позвонить клиенту');
  await page.locator(`${QC} tr[data-breach="${secondId}"] [data-action="qc-comment-send"]`).click();
  assert.equal(await page.locator(`${QC} tr[data-breach="${secondId}"] [data-comments]`).getAttribute('data-comments'), '1');
  await until('the comment', async () => {
    const now = (await backend.api('GET', '/api/qc')).body.breaches.find((b) => b.id === secondId);
    return now?.comments.some((c) => c.text === 'Позвонить клиенту');
  });

  // Reassign to another manager from the page's list; amoCRM's deal changes its responsible user.
  const row = page.locator(`${QC} tr[data-breach="${secondId}"]`);
  const dealId = Number(await row.getAttribute('data-deal'));
  const before = Number(await row.locator('[data-manager]').getAttribute('data-manager'));
  await row.locator('[data-action="qc-reassign"]').click();
  const picker = row.locator('select[name="qc-manager"]');
  const options = await picker.locator('option').evaluateAll((o) => o.map((x) => x.value));
  const target = Number(options.find((v) => Number(v) !== before));
  await picker.selectOption(String(target));
  await row.locator('[data-action="qc-reassign-send"]').click();
  assert.equal(Number(await row.locator('[data-manager]').getAttribute('data-manager')), target, 'shown at once');
  await until('the reassignment in amoCRM', async () => (await get(`/api/v4/leads/${dealId}`)).body.responsible_user_id === target);
  assert.equal(await page.locator(`${QC} [role="alert"]`).count(), 0);
});

test('a refused action is undone with a clear message', async () => {
  await openMetrics({ backend_url: backend.url });
  await page.locator(`${QC}[data-qc-state="ready"]`).waitFor({ timeout: 60_000 });
  // The browser reports the refused request itself.
  page.expected = [/Failed to load resource/];
  const row = page.locator(`${QC} tr[data-breach]`).first();
  const id = await row.getAttribute('data-breach');
  // amoCRM refuses the PATCH of the reassignment; the backend answers 502.
  const fault = await sandbox.control('POST', '/__sandbox/faults', { method: 'PATCH', path: '/api/v4/leads/', kind: 'status', status: 500, count: 20 });
  assert.ok(fault.status < 300, JSON.stringify(fault));
  const before = await row.locator('[data-manager]').getAttribute('data-manager');
  await row.locator('[data-action="qc-reassign"]').click();
  const picker = row.locator('select[name="qc-manager"]');
  const options = await picker.locator('option').evaluateAll((o) => o.map((x) => x.value));
  await picker.selectOption(options.find((v) => v !== before));
  await row.locator('[data-action="qc-reassign-send"]').click();
  const alert = page.locator(`${QC} [role="alert"]`);
  await alert.waitFor({ timeout: 30_000 });
  assert.match(await alert.textContent(), new RegExp(ru.ui.qc.action_failed.split('(')[0].trim()));
  assert.equal(await page.locator(`${QC} tr[data-breach="${id}"] [data-manager]`).getAttribute('data-manager'), before, 'rolled back');
  await sandbox.control('DELETE', '/__sandbox/faults');
});

const FORM = '[data-leakguard-settings]';

/** Opens the widget settings modal as the admin and waits until the form has settled. */
async function openSettingsModal() {
  await visit(page, sandbox, '/settings/widgets/');
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  await page.click('.js-widget-card[data-code="leakguard"]');
  await page.locator(FORM).waitFor();
  await page.locator(`${FORM} [data-refusal-row]`).first().waitFor();
  await page.locator(`${FORM} [data-stage-limit]`).first().waitFor();
}

/** The configuration amoCRM stored for the widget, as the page's widget object has it. */
async function storedConfig() {
  return page.evaluate(() => {
    const config = window.APP.widgets.list.leakguard.params.config;
    return config ? JSON.parse(config) : null;
  });
}

/** The settings the backend holds for the account. */
async function backendSettings() {
  const res = await backend.api('GET', '/api/settings');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Types a watchdog grace into the open form and presses Save. */
async function saveGrace(minutes) {
  await page.locator(`${FORM} [data-watchdog-grace]`).fill(String(minutes));
  await page.locator('.js-widget-save').click();
}

/** Answers the browser's PUTs to the backend's settings with `answer(route)` instead of the backend. */
async function interceptPut(answer) {
  const origin = new URL(sandbox.app).origin;
  await page.route(`${backend.url}/api/settings`, (route) => {
    if (route.request().method() !== 'PUT') return route.continue();
    return answer(route, origin);
  });
}

test('saving the settings form PUTs them to the backend; a 422 from the backend refuses the save with its problems', async () => {
  page = await openPage(browser);
  await saveSettings(page, { backend_url: backend.url });
  await openSettingsModal();
  const puts = [];
  page.on('request', (req) => {
    if (req.method() === 'PUT' && req.url() === `${backend.url}/api/settings`) puts.push(JSON.parse(req.postData()));
  });
  await saveGrace(25);
  await page.locator(FORM).waitFor({ state: 'detached' });
  assert.equal((await storedConfig()).next_step.watchdog_grace_minutes, 25, 'amoCRM saved the form');
  assert.equal(puts.length, 1, 'one PUT per save');
  assert.equal(puts[0].next_step.watchdog_grace_minutes, 25);
  assert.equal(puts[0].backend_url, backend.url, 'the same JSON as amoCRM stores');
  const held = await backendSettings();
  assert.equal(held.defaults, false);
  assert.equal(held.settings.next_step.watchdog_grace_minutes, 25, 'the backend holds the new value at once');
  assert.ok(held.settings.payments.store?.catalog_id > 0, 'with the payments store the save prepared');

  // The backend refuses the next save: its problems are shown like the form's own and nothing is saved.
  await openSettingsModal();
  // The browser reports the refused request itself.
  page.expected = [/status of 422/];
  await interceptPut((route, origin) => route.fulfill({
    status: 422,
    headers: { 'access-control-allow-origin': origin, 'content-type': 'application/json' },
    body: JSON.stringify({
      error: 'invalid_settings',
      problems: [
        { path: 'payments.default_time', key: 'ui.settings.error.out_of_range' },
        { path: 'stuck.tag', key: 'ui.settings.error.not_known_to_this_widget' },
      ],
    }),
  }));
  await saveGrace(40);
  const lines = page.locator(`${FORM} [data-errors] p`);
  await lines.nth(1).waitFor();
  const shown = await lines.allInnerTexts();
  assert.ok(shown[0].includes(ru.ui.settings.payments.default_time) && shown[0].includes(ru.ui.settings.error.out_of_range), shown[0]);
  assert.ok(shown[1].includes(ru.ui.settings.stuck.tag) && shown[1].includes(ru.ui.settings.error.backend_refused), shown[1]);
  const beside = page.locator(`${FORM} [data-path="payments.default_time"] [data-field-error]`);
  assert.equal(await beside.innerText(), ru.ui.settings.error.out_of_range, 'the problem is shown next to its field');
  assert.equal(await page.locator(FORM).count(), 1, 'the modal stays open');
  assert.equal(await page.locator(`${FORM} [data-watchdog-grace]`).inputValue(), '40', 'what was typed is kept');
  assert.equal((await storedConfig()).next_step.watchdog_grace_minutes, 25, 'amoCRM saved nothing');
  assert.equal((await backendSettings()).settings.next_step.watchdog_grace_minutes, 25);

  // Once the backend accepts, the same Save goes through.
  await page.unroute(`${backend.url}/api/settings`);
  await page.locator('.js-widget-save').click();
  await page.locator(FORM).waitFor({ state: 'detached' });
  assert.equal((await storedConfig()).next_step.watchdog_grace_minutes, 40);
  assert.equal((await backendSettings()).settings.next_step.watchdog_grace_minutes, 40);
});

test('a backend that cannot be reached lets the save go on; the next opening sends it again and says so until it lands', async () => {
  page = await openPage(browser);
  await saveSettings(page, { backend_url: backend.url });
  await openSettingsModal();
  // The browser reports the refused connection itself.
  page.expected = [/ERR_CONNECTION_REFUSED/, /ERR_FAILED/, /Failed to load resource/];
  let refused = 0;
  await interceptPut((route) => {
    refused += 1;
    return route.abort('connectionrefused');
  });
  const started = Date.now();
  await saveGrace(35);
  await page.locator(FORM).waitFor({ state: 'detached' });
  assert.ok(Date.now() - started < 6_000, `the save waited ${Date.now() - started} ms`);
  assert.equal(refused, 2, 'one retry');
  assert.equal((await storedConfig()).next_step.watchdog_grace_minutes, 35, 'amoCRM saved the form');
  assert.notEqual((await backendSettings()).settings.next_step.watchdog_grace_minutes, 35);
  const marker = `leakguard.settings-push.v1.${sandbox.account_id}`;
  assert.ok(await page.evaluate((key) => window.localStorage.getItem(key), marker), 'the push is pending');

  // Still unreachable at the next opening: the note says the settings have not reached the backend.
  await openSettingsModal();
  const note = page.locator(`${FORM} [data-backend-push]`);
  assert.equal(await note.innerText(), ru.ui.settings.backend_push_pending);
  await until('the retry', async () => refused >= 4, 10_000);
  assert.equal(await note.isVisible(), true);

  // Reachable again: the next opening sends the saved settings, and the note goes away.
  await page.unroute(`${backend.url}/api/settings`);
  await openSettingsModal();
  await note.waitFor({ state: 'hidden' });
  assert.equal((await backendSettings()).settings.next_step.watchdog_grace_minutes, 35);
  assert.equal(await page.evaluate((key) => window.localStorage.getItem(key), marker), null, 'nothing is pending');
});

test('an overdue payment gets one reminder across a restart, and paying it completes the task with one note', async () => {
  // A small account of its own, whose clock the test moves, so the other tests' data stays as it was.
  const own = await startSandbox(['--deals', '100']);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'leakguard-reminder-'));
  const port = await freePort();
  let server;
  try {
    /** One API call with the admin's token, again after a pause when the 7 rps limit answers 429. */
    const call = async (method, route, body) => {
      for (;;) {
        const res = await own.api(method, route, body);
        if (res.status !== 429) return res;
        await sleep(1100);
      }
    };
    const demo = (await own.control('GET', '/__sandbox/demo')).body;
    const deal = demo.deal_payments_overdue;
    const catalog = demo.payments_catalog_id;
    assert.ok(deal && catalog, JSON.stringify(demo));
    const linked = (await call('GET', `/api/v4/leads/${deal}?with=catalog_elements`)).body._embedded.catalog_elements
      .filter((e) => e.metadata.catalog_id === catalog);
    const query = linked.map((e) => `filter[id][]=${e.id}`).join('&');
    const elements = (await call('GET', `/api/v4/catalogs/${catalog}/elements?${query}`)).body._embedded.elements;
    const value = (element, code) => element.custom_fields_values.find((f) => f.field_code === code)?.values[0].value;
    const fieldIds = Object.fromEntries(elements.flatMap((e) => e.custom_fields_values.map((f) => [f.field_code, f.field_id])));
    const plans = elements.filter((e) => value(e, 'LG_KIND') === 'plan');
    assert.equal(plans.length, 1, 'the showcase deal has one planned payment');
    const plan = plans[0];
    const due = Number(value(plan, 'LG_DATE'));
    // 11:00 in the account's zone on the day after the due date: the reminder's first pass.
    await own.control('POST', '/__sandbox/clock', { now: due + 86_400 + 11 * 3600 });
    // The backend acts with a long-lived token of LeakGuard's own integration, as after an install,
    // so it reads the widget's saved settings (with the payments store) from amoCRM.
    const grant = await own.control('POST', '/__sandbox/oauth/long_lived', { widget: 'leakguard', days: 30 });
    assert.ok(grant.body?.access_token, JSON.stringify(grant.body));
    const options = {
      port,
      env: {
        LEAKGUARD_DATA_DIR: dataDir,
        LEAKGUARD_LLT_TOKEN: grant.body.access_token,
        LEAKGUARD_CLOCK: `sandbox:${own.app}`,
        LEAKGUARD_AUTOMATION_INTERVAL: '2',
      },
    };

    const open = async () => {
      const res = await call('GET', `/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]=${deal}&filter[is_completed]=0&limit=250`);
      const tasks = res.status === 204 ? [] : res.body._embedded.tasks;
      return tasks.filter((t) => t.text.includes(`#lg-p${plan.id}-`));
    };
    server = await startBackend(own, options);
    const [reminder] = await until('the reminder', async () => ((await open()).length ? open() : null), 45_000);
    assert.equal((await open()).length, 1, 'exactly one reminder');
    assert.equal(reminder.responsible_user_id, (await call('GET', `/api/v4/leads/${deal}`)).body.responsible_user_id);

    // Restarted over the same database, the backend runs another pass and adds nothing.
    const earlier = new Set((await server.api('GET', '/api/jobs')).body.jobs.map((j) => j.id));
    await server.stop();
    server = await startBackend(own, options);
    await until('a pass after the restart', async () => {
      const { jobs } = (await server.api('GET', '/api/jobs')).body;
      return jobs.some((j) => !earlier.has(j.id) && j.kind === 'automation.pass' && j.state === 'done');
    }, 30_000);
    assert.deepEqual((await open()).map((t) => t.id), [reminder.id], 'still exactly one reminder');

    // The client pays what is outstanding, recorded as the card records it: element, link, note.
    const overdue = (await server.api('GET', '/api/metrics')).body.payments.overdue.find((o) => o.planned_id === plan.id);
    assert.ok(overdue, 'the backend lists the overdue payment');
    const amount = (overdue.outstanding / 100).toFixed(2);
    const today = due + 86_400;
    const created = await call('POST', `/api/v4/catalogs/${catalog}/elements`, [{
      name: `Оплата: ${amount} ₽ · сделка #${deal} #lg-e${deal}-${Date.now()}`,
      custom_fields_values: [
        ['LG_KIND', 'payment'], ['LG_AMOUNT', amount], ['LG_DATE', today], ['LG_PLAN', plan.id], ['LG_LEAD', deal],
      ].map(([code, v]) => ({ field_id: fieldIds[code], values: [{ value: v }] })),
    }]);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const payment = created.body._embedded.elements[0].id;
    const link = await call('POST', `/api/v4/leads/${deal}/link`, [
      { to_entity_id: payment, to_entity_type: 'catalog_elements', metadata: { catalog_id: catalog, quantity: 1 } },
    ]);
    assert.equal(link.status, 200, JSON.stringify(link.body));
    const note = await call('POST', `/api/v4/leads/${deal}/notes`, [
      { note_type: 'common', params: { text: `LeakGuard · Администратор: добавлена оплата ${amount} ₽.` } },
    ]);
    assert.equal(note.status, 200, JSON.stringify(note.body));

    const done = await until('the reminder completed', async () => {
      const task = (await call('GET', `/api/v4/tasks/${reminder.id}`)).body;
      return task.is_completed ? task : null;
    }, 30_000);
    assert.equal(done.is_completed, true);
    const notes = async () => {
      const res = await call('GET', `/api/v4/leads/${deal}/notes?limit=250`);
      return (res.status === 204 ? [] : res.body._embedded.notes)
        .filter((n) => n.params?.text?.includes(`#lg-p${plan.id}-`));
    };
    await until('the closing note', async () => (await notes()).length > 0, 15_000);
    await sleep(3000);
    assert.equal((await notes()).length, 1, 'one note');
    assert.deepEqual(await open(), [], 'no reminder is open');
  } finally {
    await server?.stop();
    await own.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
