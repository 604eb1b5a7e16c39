// End-to-end: refusals. In the sandbox's lead card the "Refuse" picker closes the deal as lost with a
// reason in one PATCH, creates the reason's follow-up task (due N working days later at the default
// hour in the account's zone), adds a note and, when configured, copies the deal into the refusal
// pipeline; a 5xx in the middle ends with exactly one of each; a move to "lost" in the status control
// asks for the reason first; reason names are text; requests stay within the budget and the limit.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, launchBrowser, openPage, visit, i18n, unexpectedProblems } from './harness.mjs';

let sandbox;
let browser;
let demo;
let page;
let pipeline;
let stages;
let reasons;
const ru = i18n('ru');
const ROOT = '.card-widgets__widget[data-widget-code="leakguard"] [data-leakguard-root]';
const PICKER = '.card-widgets__widget[data-widget-code="leakguard"] [data-leakguard-refusal]';
const HOUR = 10;

before(async () => {
  sandbox = await startSandbox();
  browser = await launchBrowser();
  demo = (await sandbox.control('GET', '/__sandbox/demo')).body;
  const pipelines = (await sandbox.api('GET', '/api/v4/leads/pipelines')).body._embedded.pipelines;
  pipeline = pipelines.find((p) => p.is_main) ?? pipelines[0];
  stages = pipeline._embedded.statuses.filter((s) => s.id !== 142 && s.id !== 143 && s.type === 0)
    .sort((a, b) => a.sort - b.sort).map((s) => s.id);
  reasons = (await sandbox.api('GET', '/api/v4/leads/loss_reasons')).body._embedded.loss_reasons;
  assert.ok(reasons.length >= 2);
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
});

beforeEach(async () => {
  // amoCRM counts requests per second per session: let the last test's requests age out.
  await new Promise((resolve) => setTimeout(resolve, 1100));
});

afterEach(async () => {
  await sandbox.control('DELETE', '/__sandbox/faults');
  if (page) {
    const problems = unexpectedProblems(page);
    await page.context().close();
    page = null;
    assert.deepEqual(problems, [], 'the page logged console errors or failed requests');
  }
});

async function newDeal(name, status = stages[0]) {
  const res = await sandbox.api('POST', '/api/v4/leads', [
    { name, pipeline_id: pipeline.id, status_id: status, responsible_user_id: demo.manager_user_id },
  ]);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body._embedded.leads[0].id;
}

async function list(route, key) {
  const res = await sandbox.api('GET', route);
  return res.status === 204 ? [] : res.body._embedded[key];
}

const tasksOf = (id) => list(`/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]=${id}&limit=250`, 'tasks');
const notesOf = (id) => list(`/api/v4/leads/${id}/notes?limit=250`, 'notes');

async function openCard(id, user = demo.manager_user_id) {
  page ??= await openPage(browser);
  await visit(page, sandbox, `/leads/detail/${id}`, { user });
  await page.locator(`${ROOT}:not([data-state="loading"])`).waitFor({ timeout: 15_000 });
  await page.locator('body[data-widgets-ready="1"]').waitFor();
}

async function saveSettings(config) {
  const status = await page.evaluate(async (config) => {
    const res = await fetch('/ajax/sandbox/widgets/leakguard/settings', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-Sandbox-Client': 'host' },
      body: JSON.stringify({ active: 'Y', fields: { config: JSON.stringify(config) } }),
    });
    await res.text();
    return res.status;
  }, config);
  assert.equal(status, 200);
}

/** The Moscow calendar date and hour of a Unix time. */
function moscow(unix) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Moscow', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(unix * 1000));
  const get = (t) => parts.find((p) => p.type === t).value;
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

/**
 * The date `days` working days after the Moscow date of `unix`, counted independently of the
 * widget: Monday to Friday minus the Russian non-working days of the test's weeks.
 */
function workingDaysLater(unix, days) {
  const holidays = new Set(['2026-12-31', '2027-01-01', '2027-01-04', '2027-01-05', '2027-01-06', '2027-01-07', '2027-01-08']);
  const [y, m, d] = moscow(unix).date.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  let left = days;
  while (left > 0) {
    day.setUTCDate(day.getUTCDate() + 1);
    const iso = day.toISOString().slice(0, 10);
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6 && !holidays.has(iso)) left -= 1;
  }
  return day.toISOString().slice(0, 10);
}

async function refuse(reasonId, comment = '') {
  await page.click(`${PICKER} .leakguard-refusal__open`);
  await page.locator(`${PICKER}[data-state="choose"]`).waitFor();
  if (comment) await page.fill(`${PICKER} .leakguard-refusal__comment`, comment);
  await page.click(`${PICKER} [data-reason-id="${reasonId}"]`);
}

/** The widget's own requests (session) in the log, and the most in any one second. */
async function widgetRequests() {
  // A 429 is refused before anything is done (the sandbox counts the test's own requests too), so
  // it is not a request of the refusal; the widget retries it after the pause.
  const all = (await sandbox.control('GET', '/__sandbox/requests')).body.filter((r) => r.client === 'session');
  const log = all.filter((r) => r.status !== 429);
  const busiest = Math.max(0, ...log.map((r) => log.filter((o) => o.ts_ms >= r.ts_ms && o.ts_ms < r.ts_ms + 1000).length));
  return { log, busiest };
}

test('each reason closes the deal in one PATCH with its follow-up task, note and optional copy, within the request budget', async () => {
  const [first, second] = reasons;
  const pipelines = (await sandbox.api('GET', '/api/v4/leads/pipelines')).body._embedded.pipelines;
  const target = pipelines.find((p) => p.id !== pipeline.id) ?? pipeline;
  const copyStage = target._embedded.statuses.filter((s) => s.id !== 142 && s.id !== 143 && s.type === 0)
    .sort((a, b) => a.sort - b.sort)[0].id;
  // A deal linked to a demo contact, so the copy's links can be checked.
  const linked = (await sandbox.api('GET', '/api/v4/leads?with=contacts&limit=250')).body._embedded.leads
    .find((l) => l._embedded?.contacts?.length);
  const contacts = linked ? linked._embedded.contacts.map((c) => ({ id: c.id })) : [];
  const companies = linked?._embedded?.companies?.map((c) => ({ id: c.id })) ?? [];
  const cases = [
    { reason: first, delay: 3, type: 2, text: 'Перезвонить: {deal}', copy: false },
    { reason: second, delay: 7, type: 1, text: null, copy: true },
  ];
  page ??= await openPage(browser);
  await visit(page, sandbox, '/settings/widgets/', { user: demo.admin_user_id });
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  await saveSettings({ version: 1, refusals: { rules: cases.map((c) => ({
    reason_id: c.reason.id, delay_working_days: c.delay, task_text: c.text, task_type_id: c.type,
    copy: c.copy, copy_to: { pipeline_id: target.id, status_id: copyStage },
  })) } });
  for (const c of cases) {
    const name = `Отказ ${c.reason.id}`;
    const created = await sandbox.api('POST', '/api/v4/leads', [{
      name, price: 5000, pipeline_id: pipeline.id, status_id: stages[0], responsible_user_id: demo.manager_user_id,
      _embedded: { contacts, companies },
    }]);
    const id = created.body._embedded.leads[0].id;
    await openCard(id);
    // Let the card's own request age out of amoCRM's one-second window.
    await page.waitForTimeout(1100);
    await sandbox.control('DELETE', '/__sandbox/requests');
    const before = Math.floor(Date.now() / 1000);
    await refuse(c.reason.id, 'позже');
    await page.locator(`${PICKER}[data-state="done"]`).waitFor({ timeout: 15_000 });
    const { log, busiest } = await widgetRequests();
    const listed = log.map((r) => `${r.method} ${r.path}`);
    assert.ok(busiest <= 7, `at most 7 requests in a second, saw ${busiest}`);
    if (c.copy) {
      assert.equal(log.length, 7, listed.join(', '));
    } else {
      assert.ok(log.length <= 4, `requests per refusal: ${listed.join(', ')}`);
    }
    const patches = log.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 1);
    assert.deepEqual(patches[0].body, { pipeline_id: pipeline.id, status_id: 143, loss_reason_id: c.reason.id });
    const lead = (await sandbox.api('GET', `/api/v4/leads/${id}`)).body;
    assert.equal(lead.status_id, 143);
    assert.equal(lead.loss_reason_id, c.reason.id);
    const tasks = await tasksOf(id);
    assert.equal(tasks.length, 1);
    const [task] = tasks;
    assert.equal(task.task_type_id, c.type);
    const text = c.text ? c.text.replace('{deal}', name) : `Связаться повторно: ${name}`;
    assert.match(task.text, new RegExp(`^${text} #lg-r${id}-\\d+$`));
    assert.equal(task.responsible_user_id, demo.manager_user_id);
    assert.deepEqual(moscow(task.complete_till), { date: workingDaysLater(before, c.delay), time: `${HOUR}:00` });
    const notes = (await notesOf(id)).filter((n) => n.params?.text?.includes('#lg-r'));
    assert.equal(notes.length, 1);
    assert.ok(notes[0].params.text.includes(`${ru.ui.refusal.note_reason}: ${c.reason.name}`));
    assert.ok(notes[0].params.text.includes(`${ru.ui.refusal.note_comment}: позже`));
    const found = await sandbox.api('GET', `/api/v4/leads?query=${encodeURIComponent(name)}&with=contacts&limit=250`);
    const copies = (found.status === 204 ? [] : found.body._embedded.leads)
      .filter((l) => l.name === name && l.id !== id && l.pipeline_id === target.id);
    assert.equal(copies.length, c.copy ? 1 : 0);
    if (c.copy) {
      const [copy] = copies;
      assert.equal(copy.status_id, copyStage);
      assert.equal(copy.price, 5000);
      assert.ok(copy._embedded.tags.some((t) => t.name === 'Отказ'));
      assert.deepEqual(copy._embedded.contacts.map((x) => x.id).sort(), contacts.map((x) => x.id).sort());
      assert.deepEqual((copy._embedded.companies ?? []).map((x) => x.id), companies.map((x) => x.id));
      const back = (await notesOf(copy.id)).filter((n) => n.params?.text?.includes(`/leads/detail/${id}`));
      assert.equal(back.length, 1);
    }
  }
});

test('a 5xx in the middle ends, after retry, with exactly one task and one note', async () => {
  const id = await newDeal('Сбой');
  await openCard(id);
  await sandbox.control('POST', '/__sandbox/faults', { method: 'POST', path: '/api/v4/tasks', kind: 'status_after', status: 502, count: 1 });
  page.expected = [/Failed to load resource.*502/];
  await refuse(reasons[0].id);
  await page.locator(`${PICKER}[data-state="failed"]`).waitFor({ timeout: 15_000 });
  assert.equal((await sandbox.api('GET', `/api/v4/leads/${id}`)).body.status_id, 143);
  await page.click(`${PICKER} .leakguard-refusal__retry`);
  await page.locator(`${PICKER}[data-state="done"]`).waitFor({ timeout: 15_000 });
  assert.equal((await tasksOf(id)).length, 1);
  assert.equal((await notesOf(id)).filter((n) => n.params?.text?.includes('#lg-r')).length, 1);
});

test('a move to lost in the status control asks for the reason first; closed deals offer no refusal', async () => {
  const id = await newDeal('Статус');
  await openCard(id);
  await page.locator('.js-card-status').selectOption(`${pipeline.id}:143`);
  await page.locator(`${PICKER}[data-state="choose"]`).waitFor();
  assert.equal(await page.locator('.js-card-status').inputValue(), `${pipeline.id}:${stages[0]}`);
  assert.equal((await sandbox.api('GET', `/api/v4/leads/${id}`)).body.status_id, stages[0]);
  await page.click(`${PICKER} [data-reason-id="${reasons[1].id}"]`);
  await page.locator(`${PICKER}[data-state="done"]`).waitFor({ timeout: 15_000 });
  assert.equal((await sandbox.api('GET', `/api/v4/leads/${id}`)).body.status_id, 143);
  const won = await newDeal('Выиграна', 142);
  await openCard(won);
  assert.equal(await page.locator(`${PICKER}[data-state="hidden"]`).count(), 1);
  await openCard(demo.deal_lost);
  assert.equal(await page.locator(`${PICKER}[data-state="hidden"]`).count(), 1);
});

test('a reason named with HTML is shown as text', async () => {
  const created = await sandbox.api('POST', '/api/v4/leads/loss_reasons', [{ name: '<b>x</b>' }]);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const id = await newDeal('HTML');
  await openCard(id);
  await page.click(`${PICKER} .leakguard-refusal__open`);
  const button = page.locator(`${PICKER} .leakguard-refusal__reason`, { hasText: '<b>x</b>' });
  await button.waitFor();
  assert.equal(await page.locator(`${PICKER} b`).count(), 0);
});

test('"the client refused" in the next-step dialog opens the picker, and the refusal ends the hold', async () => {
  const id = await newDeal('Диалог');
  await openCard(id);
  await page.locator(`${ROOT} .leakguard-card__plan`).click();
  const dialog = page.locator('[data-leakguard-dialog][data-mode="form"]');
  await dialog.waitFor();
  await dialog.locator('.leakguard-dialog__refused').click();
  await page.locator(`${PICKER}[data-state="choose"]`).waitFor();
  assert.equal(await page.locator('[data-leakguard-dialog]').count(), 0);
  await page.click(`${PICKER} [data-reason-id="${reasons[0].id}"]`);
  await page.locator(`${PICKER}[data-state="done"]`).waitFor({ timeout: 15_000 });
  assert.equal((await sandbox.api('GET', `/api/v4/leads/${id}`)).body.status_id, 143);
  assert.equal((await tasksOf(id)).length, 1);
  // The deal is lost with its follow-up: the guard lets the manager leave.
  await page.click('.js-back-button');
  await page.waitForURL((url) => !url.pathname.startsWith('/leads/detail'), { timeout: 10_000 });
  page.expected = [/request failed: .*\/api\/v4\/leads\?filter.* net::ERR_ABORTED/];
});

test('a refusal interrupted by a reload resumes without duplicates', async () => {
  const id = await newDeal('Перезагрузка');
  await openCard(id);
  await sandbox.control('POST', '/__sandbox/faults', { method: 'POST', path: `/api/v4/leads/${id}/notes`, kind: 'status_after', status: 503, count: 1 });
  page.expected = [/Failed to load resource.*503/];
  await refuse(reasons[1].id, 'перезвонить в марте');
  await page.locator(`${PICKER}[data-state="failed"]`).waitFor({ timeout: 15_000 });
  // The limiter belongs to the page; a reload starts a new one, so the old page's burst ages out first.
  await page.waitForTimeout(1100);
  await page.reload();
  await page.locator(`${PICKER}[data-state="failed"]`).waitFor({ timeout: 15_000 });
  await page.click(`${PICKER} .leakguard-refusal__retry`);
  await page.locator(`${PICKER}[data-state="done"]`).waitFor({ timeout: 15_000 });
  assert.equal((await tasksOf(id)).length, 1);
  assert.equal((await notesOf(id)).filter((n) => n.params?.text?.includes('#lg-r')).length, 1);
  const lead = (await sandbox.api('GET', `/api/v4/leads/${id}`)).body;
  assert.deepEqual([lead.status_id, lead.loss_reason_id], [143, reasons[1].id]);
});
