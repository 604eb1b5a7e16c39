// End-to-end: the settings form, a wasm module of its own imported only in the settings modal.
// The admin fills the refusal rules (one row per loss reason of the account) and a stage limit,
// saves, reopens the modal and finds the values; a value the core rejects keeps the modal open;
// adding and renaming a loss reason go through the API; the card never downloads the module.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, launchBrowser, openPage, visit, i18n, unexpectedProblems } from './harness.mjs';

let sandbox;
let browser;
let demo;
let page;
let pipeline;
let stage;
const ru = i18n('ru');
const FORM = '[data-leakguard-settings]';
const SAVE = '.js-widget-save';

before(async () => {
  sandbox = await startSandbox();
  browser = await launchBrowser();
  demo = (await sandbox.control('GET', '/__sandbox/demo')).body;
  const pipelines = (await sandbox.api('GET', '/api/v4/leads/pipelines')).body._embedded.pipelines;
  pipeline = pipelines.find((p) => p.is_main) ?? pipelines[0];
  stage = pipeline._embedded.statuses
    .filter((s) => s.id !== 142 && s.id !== 143 && s.type === 0)
    .sort((a, b) => a.sort - b.sort)[0].id;
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
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

/** Opens the widget settings modal as the admin and waits for the form with its reasons and stages. */
async function openModal() {
  page ??= await openPage(browser);
  await visit(page, sandbox, '/settings/widgets/', { user: demo.admin_user_id });
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  await page.click('.js-widget-card[data-code="leakguard"]');
  await page.locator(FORM).waitFor();
  await page.locator(`${FORM} [data-refusal-row]`).first().waitFor();
  await page.locator(`${FORM} [data-stage-limit]`).first().waitFor();
}

/** The stored configuration, as the widget object has it after a save. */
async function stored() {
  return page.evaluate(() => {
    const config = window.APP.widgets.list.leakguard.params.config;
    return config ? JSON.parse(config) : null;
  });
}

async function reasons() {
  const res = await sandbox.api('GET', '/api/v4/leads/loss_reasons');
  return res.status === 204 ? [] : res.body._embedded.loss_reasons;
}

test('refusal rules and a stage limit are saved, shown again after reopening, and the core refuses what it rejects', async () => {
  const account = await reasons();
  assert.ok(account.length >= 2, 'the demo account has loss reasons');
  await openModal();
  const rows = page.locator(`${FORM} [data-refusal-row]`);
  assert.equal(await rows.count(), account.length, 'one row per loss reason of the account');
  const first = rows.nth(0);
  const reasonId = Number(await first.getAttribute('data-refusal-row'));
  await first.locator('[data-refusal-delay]').fill('7');
  await first.locator('[data-refusal-text]').fill('Перезвонить: {deal}');
  await first.locator('[data-refusal-responsible]').selectOption(String(demo.manager_user_id));
  await first.locator('[data-refusal-copy]').check();
  await first.locator('[data-refusal-stage]').selectOption(`${pipeline.id}:${stage}`);
  const limit = page.locator(`${FORM} [data-stage-limit="${pipeline.id}:${stage}"]`);
  await limit.locator('[data-stage-limit]').fill('3');
  await limit.locator('[data-stage-limit-unit]').selectOption('hours');
  await page.locator(SAVE).click();
  await page.locator(FORM).waitFor({ state: 'detached' });

  const saved = await stored();
  const rule = saved.refusals.rules.find((r) => r.reason_id === reasonId);
  assert.equal(rule.delay_working_days, 7);
  assert.equal(rule.task_text, 'Перезвонить: {deal}');
  assert.deepEqual(rule.responsible, { kind: 'user', id: demo.manager_user_id });
  assert.equal(rule.copy, true);
  assert.deepEqual(rule.copy_to, { pipeline_id: pipeline.id, status_id: stage });
  assert.equal(saved.refusals.rules.length, account.length, 'every reason got a rule (the core fills the defaults)');
  const own = saved.stuck.stages.find((s) => s.stage.status_id === stage);
  assert.deepEqual(own.limit, { hours: 3 });

  // Reopened: the form shows what was saved.
  await page.context().close();
  page = null;
  await openModal();
  const again = page.locator(`${FORM} [data-refusal-row="${reasonId}"]`);
  assert.equal(await again.locator('[data-refusal-delay]').inputValue(), '7');
  assert.equal(await again.locator('[data-refusal-text]').inputValue(), 'Перезвонить: {deal}');
  assert.equal(await again.locator('[data-refusal-copy]').isChecked(), true);
  assert.equal(await again.locator('[data-refusal-stage]').inputValue(), `${pipeline.id}:${stage}`);
  const limitAgain = page.locator(`${FORM} [data-stage-limit="${pipeline.id}:${stage}"]`);
  assert.equal(await limitAgain.locator('[data-stage-limit]').inputValue(), '3');
  assert.equal(await limitAgain.locator('[data-stage-limit-unit]').inputValue(), 'hours');

  // A copy without a stage is refused by the core: the modal stays open with the problem shown.
  await again.locator('[data-refusal-stage]').selectOption('');
  await page.locator(SAVE).click();
  const errors = page.locator(`${FORM} [data-errors] p`);
  await errors.first().waitFor();
  const line = await errors.first().innerText();
  assert.ok(line.includes(ru.ui.settings.refusals.rule), line);
  assert.ok(line.includes(ru.ui.settings.error.required), line);
  assert.equal(await page.locator(FORM).count(), 1, 'the modal stays open');
  assert.deepEqual((await stored()).refusals.rules.find((r) => r.reason_id === reasonId).copy_to, {
    pipeline_id: pipeline.id,
    status_id: stage,
  });
  // Clean up for the next test.
  await page.evaluate(async () => {
    const res = await fetch('/ajax/sandbox/widgets/leakguard/settings', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-Sandbox-Client': 'host' },
      body: JSON.stringify({ active: 'Y', fields: { config: '' } }),
    });
    await res.text();
  });
});

test('an admin adds and renames a loss reason through the API; names render as text', async () => {
  await openModal();
  const before = await reasons();
  await page.fill(`${FORM} [data-new-reason]`, '<b>Нет бюджета</b>');
  await page.click(`${FORM} [data-add-reason]`);
  const added = page.locator(`${FORM} [data-refusal-row][data-reason="<b>Нет бюджета</b>"]`);
  await added.waitFor();
  const after = await reasons();
  assert.equal(after.length, before.length + 1);
  const created = after.find((r) => r.name === '<b>Нет бюджета</b>');
  assert.ok(created, 'the reason exists in the account');
  assert.equal(await page.locator(`${FORM} b`).count(), 0, 'no HTML from data');
  await added.locator('[data-reason-name]').fill('Нет бюджета');
  await added.locator('[data-rename-reason]').click();
  await page.locator(`${FORM} [data-refusal-status]`, { hasText: ru.ui.settings.refusals.renamed }).waitFor();
  assert.equal((await reasons()).find((r) => r.id === created.id).name, 'Нет бюджета');
});

test('the lead card never downloads the settings module', async () => {
  const lead = (await sandbox.api('GET', '/api/v4/leads?limit=1')).body._embedded.leads[0];
  page ??= await openPage(browser);
  const urls = [];
  page.on('request', (request) => urls.push(request.url()));
  await visit(page, sandbox, `/leads/detail/${lead.id}`, { user: demo.admin_user_id });
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  await page.locator('[data-leakguard-root]').waitFor();
  assert.ok(urls.some((u) => u.includes('/leakguard_bg.wasm')), 'the card loads the widget');
  assert.ok(!urls.some((u) => u.includes('leakguard_settings')), 'but not the settings form');
});

test('without the settings module the modal says so, and the widget can still be disabled', async () => {
  page ??= await openPage(browser);
  page.expected = [/leakguard_settings/, /ERR_FAILED/, /Failed to load resource/, /Failed to fetch dynamically imported module/];
  await page.route('**/leakguard_settings*', (route) => route.abort('failed'));
  await visit(page, sandbox, '/settings/widgets/', { user: demo.admin_user_id });
  await page.locator('body[data-widgets-ready="1"]').waitFor();
  await page.click('.js-widget-card[data-code="leakguard"]');
  const note = page.locator('[data-leakguard-settings-note][role="alert"]');
  await note.waitFor();
  assert.equal(await note.innerText(), ru.ui.settings.module_failed);
  assert.equal(await page.locator(FORM).count(), 0);
  await sandbox.control('DELETE', '/__sandbox/requests');
  await page.click('.js-widget-uninstall');
  await note.waitFor({ state: 'detached' });
  const log = (await sandbox.control('GET', '/__sandbox/requests')).body;
  const saved = log.find((r) => r.method === 'POST' && r.path === '/ajax/sandbox/widgets/leakguard/settings');
  assert.ok(saved, JSON.stringify(log));
  assert.equal(saved.status, 200);
});

// The payments section: the catalog the widget prepares on the first save, on a sandbox started
// without it, and the margin plan. The card may hand `onSave` a Promise (one Save) or a boolean
// (the form refuses the first Save, prepares the catalog, and the next Save goes through): the
// helper below presses Save until the modal closes, at most twice.

const LG_CODES = ['LG_KIND', 'LG_AMOUNT', 'LG_DATE', 'LG_PLAN', 'LG_LEAD', 'LG_COMMENT'];
const FIELD_KEYS = { LG_KIND: 'kind', LG_AMOUNT: 'amount', LG_DATE: 'date', LG_PLAN: 'plan', LG_LEAD: 'lead', LG_COMMENT: 'comment' };

/** LeakGuard's catalogs of `box` (regular, named like LeakGuard's in any language) with their fields. */
async function ourCatalogs(box) {
  const res = await box.api('GET', '/api/v4/catalogs?limit=250');
  const catalogs = res.status === 204 ? [] : res.body._embedded.catalogs;
  const ours = catalogs.filter((c) => c.type === 'regular' && c.name.startsWith('LeakGuard'));
  const out = [];
  for (const catalog of ours) {
    const fields = await box.api('GET', `/api/v4/catalogs/${catalog.id}/custom_fields`);
    out.push({ catalog, fields: fields.status === 204 ? [] : fields.body._embedded.custom_fields });
  }
  return out;
}

/** Opens the settings modal of `box` as its admin in a new page. */
async function openFresh(box) {
  const admin = (await box.control('GET', '/__sandbox/demo')).body.admin_user_id;
  const p = await openPage(browser);
  await visit(p, box, '/settings/widgets/', { user: admin });
  await p.locator('body[data-widgets-ready="1"]').waitFor();
  await p.click('.js-widget-card[data-code="leakguard"]');
  await p.locator(`${FORM} [data-payments]`).waitFor();
  await p.locator(`${FORM} [data-payments-gate]`).first().waitFor();
  return p;
}

/** Presses Save until the modal closes (at most twice, see above). */
async function saveUntilClosed(p) {
  const status = p.locator(`${FORM} [data-payments-store][data-store-state]`);
  for (let attempt = 0; attempt < 2; attempt++) {
    await p.locator(SAVE).click();
    const closed = p.locator(FORM).waitFor({ state: 'detached', timeout: 20_000 }).then(() => 'closed');
    const ready = status.filter({ hasText: ru.ui.settings.payments.store_press_save.split('(')[0].trim() })
      .waitFor({ timeout: 20_000 }).then(() => 'again');
    if ((await Promise.race([closed, ready])) === 'closed') return attempt + 1;
    await p.waitForFunction((selector) => document.querySelector(selector)?.disabled === false, SAVE);
  }
  await p.locator(FORM).waitFor({ state: 'detached' });
  return 3;
}

async function storedIn(p) {
  return p.evaluate(() => JSON.parse(window.APP.widgets.list.leakguard.params.config || 'null'));
}

/** The API requests of the log since `seq`, as `METHOD path`. */
async function apiCalls(box, seq = 0) {
  const log = (await box.control('GET', `/__sandbox/requests?since=${seq}`)).body;
  return log.filter((r) => r.path.startsWith('/api/v4/')).map((r) => `${r.method} ${r.path}`);
}

test('payments: the first save prepares one catalog with its six fields and keeps their ids; saving again creates nothing; the margin plan round-trips', async () => {
  const fresh = await startSandbox(['--no-payments']);
  let p;
  try {
    assert.deepEqual(await ourCatalogs(fresh), [], 'the sandbox starts without LeakGuard\'s catalog');
    p = await openFresh(fresh);
    const payments = p.locator(`${FORM} [data-payments]`);
    await payments.locator('[data-add-margin]').click();
    const row = payments.locator('[data-margin-row]').last();
    await row.locator('[data-margin-month]').fill('2026-11');
    await row.locator('[data-margin-scope]').selectOption('company');
    await row.locator('[data-margin-amount]').fill('150 000,50');
    await payments.locator('[data-add-margin]').click();
    const manager = payments.locator('[data-margin-row]').last();
    const managerId = (await fresh.control('GET', '/__sandbox/demo')).body.manager_user_id;
    await manager.locator('[data-margin-month]').fill('2026-12');
    await manager.locator('[data-margin-scope]').selectOption(`user:${managerId}`);
    await manager.locator('[data-margin-amount]').fill('2500');
    await fresh.control('DELETE', '/__sandbox/requests');
    const presses = await saveUntilClosed(p);
    const first = await apiCalls(fresh);
    console.log(`# first-use preparation: ${first.length} requests (${presses} Save presses): ${first.join(', ')}`);

    const catalogs = await ourCatalogs(fresh);
    assert.equal(catalogs.length, 1, 'exactly one catalog');
    const [{ catalog, fields }] = catalogs;
    assert.deepEqual(fields.map((f) => f.code).filter((c) => LG_CODES.includes(c)).sort(), [...LG_CODES].sort());
    assert.equal(first.filter((c) => c === 'POST /api/v4/catalogs').length, 1);
    assert.equal(first.filter((c) => c === `POST /api/v4/catalogs/${catalog.id}/custom_fields`).length, 1);
    const saved = await storedIn(p);
    assert.equal(saved.payments.store.catalog_id, catalog.id);
    for (const field of fields.filter((f) => LG_CODES.includes(f.code))) {
      assert.equal(saved.payments.store.fields[FIELD_KEYS[field.code]], field.id, field.code);
    }
    assert.deepEqual(saved.payments.margin_plan, [
      { month: '2026-11', scope: { kind: 'company' }, amount_minor: 15_000_050 },
      { month: '2026-12', scope: { kind: 'manager', user_id: managerId }, amount_minor: 250_000 },
    ]);

    // Reopened: the plan is shown as saved; a save with the catalog in place creates nothing.
    await p.context().close();
    p = await openFresh(fresh);
    const rows = p.locator(`${FORM} [data-margin-row]`);
    assert.equal(await rows.count(), 2);
    assert.equal(await rows.nth(0).locator('[data-margin-month]').inputValue(), '2026-11');
    assert.equal(await rows.nth(0).locator('[data-margin-amount]').inputValue(), '150000.50');
    assert.equal(await rows.nth(1).locator('[data-margin-scope]').inputValue(), `user:${managerId}`);
    await p.locator(`${FORM} [data-payments-store][data-store-state="ok"]`).waitFor();
    await fresh.control('DELETE', '/__sandbox/requests');
    await p.locator(`${FORM} [data-payments-time]`).fill('11:30');
    assert.equal(await saveUntilClosed(p), 1, 'one Save when the catalog is ready');
    const again = await apiCalls(fresh);
    console.log(`# save when prepared: ${again.length} requests after the modal's check: ${again.join(', ') || 'none'}`);
    assert.deepEqual(again.filter((c) => c.startsWith('POST /api/v4/catalogs')), []);
    assert.equal((await ourCatalogs(fresh)).length, 1);
    assert.deepEqual((await storedIn(p)).payments.default_time, { hour: 11, minute: 30 });
    assert.deepEqual(unexpectedProblems(p), []);
  } finally {
    await p?.context().close();
    await fresh.stop();
  }
});

test('payments: a 500 while preparing keeps what the admin typed, and the retry creates nothing twice; 143 is refused as a gate', async () => {
  const fresh = await startSandbox(['--no-payments']);
  let p;
  try {
    p = await openFresh(fresh);
    p.expected = [/status of 500/];
    const payments = p.locator(`${FORM} [data-payments]`);
    await payments.locator('[data-payments-text-en]').fill('Ask for the money: {deal}');
    await payments.locator('[data-payments-editors][value="admins"]').check();
    // amoCRM creates the catalog but the answer is lost in a 500.
    await fresh.control('POST', '/__sandbox/faults', { path: '/api/v4/catalogs', method: 'POST', kind: 'status_after', status: 500 });
    await p.locator(SAVE).click();
    const status = payments.locator('[data-payments-store][data-store-state="failed"]');
    await status.waitFor();
    assert.ok((await status.innerText()).includes('500'), await status.innerText());
    assert.equal(await p.locator(FORM).count(), 1, 'the modal stays open');
    assert.equal(await payments.locator('[data-payments-text-en]').inputValue(), 'Ask for the money: {deal}');
    assert.equal(await payments.locator('[data-payments-editors][value="admins"]').isChecked(), true);
    const afterFailure = await ourCatalogs(fresh);
    assert.equal(afterFailure.length, 1, 'the lost answer did create the catalog');
    assert.equal(afterFailure[0].fields.length, 0);

    await saveUntilClosed(p);
    const catalogs = await ourCatalogs(fresh);
    assert.equal(catalogs.length, 1, 'the retry found the catalog instead of creating a second one');
    assert.equal(catalogs[0].catalog.id, afterFailure[0].catalog.id);
    assert.equal(catalogs[0].fields.filter((f) => LG_CODES.includes(f.code)).length, 6);
    const saved = await storedIn(p);
    assert.equal(saved.payments.store.catalog_id, catalogs[0].catalog.id);
    assert.equal(saved.payments.reminder_task_text.en, 'Ask for the money: {deal}');
    assert.deepEqual(saved.payments.editors, { kind: 'admins' });

    // A stored lost stage (143) as a gate is refused next to the gates, with the core's message.
    const pipelines = (await fresh.api('GET', '/api/v4/leads/pipelines')).body._embedded.pipelines;
    const lost = { ...saved, payments: { ...saved.payments, gate_stages: [{ pipeline_id: pipelines[0].id, status_id: 143 }] } };
    await p.evaluate(async (config) => {
      const res = await fetch('/ajax/sandbox/widgets/leakguard/settings', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest', 'X-Sandbox-Client': 'host' },
        body: JSON.stringify({ active: 'Y', fields: { config: JSON.stringify(config) } }),
      });
      await res.text();
    }, lost);
    await p.context().close();
    p = await openFresh(fresh);
    await p.locator(`${FORM} [data-payments-time]`).fill('09:00');
    await p.locator(SAVE).click();
    const problem = p.locator(`${FORM} [data-payments] [data-path="payments.gate_stages"] [data-field-error]`);
    await problem.waitFor();
    assert.equal(await problem.innerText(), ru.ui.settings.error.lost_stage);
    assert.equal(await p.locator(FORM).count(), 1, 'the modal stays open');
    assert.deepEqual(unexpectedProblems(p), []);
  } finally {
    await p?.context().close();
    await fresh.stop();
  }
});
