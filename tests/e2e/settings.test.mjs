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
