// End-to-end: the packed archive, loaded by the sandbox's amoCRM lead card, shows each deal's
// next-step status from the API, recovers from API failures and cleans up on destroy.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, launchBrowser, openPage, visit, i18n, fill, unexpectedProblems } from './harness.mjs';

let sandbox;
let browser;
let demo;
let page;
const ru = i18n('ru');
const en = i18n('en');
const ROOT = '.card-widgets__widget[data-widget-code="leakguard"] [data-leakguard-root]';

before(async () => {
  sandbox = await startSandbox();
  browser = await launchBrowser();
  demo = (await sandbox.control('GET', '/__sandbox/demo')).body;
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
});

afterEach(async () => {
  if (page) {
    const problems = unexpectedProblems(page);
    await page.context().close();
    page = null;
    assert.deepEqual(problems, [], 'the page logged console errors or failed requests');
  }
  await sandbox.control('DELETE', '/__sandbox/faults');
});

/** Open tasks of a lead, straight from the sandbox API (independent of the widget). */
async function openTasks(leadId) {
  const res = await sandbox.api('GET', `/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]=${leadId}&filter[is_completed]=0&limit=250`);
  if (res.status === 204) return [];
  assert.equal(res.status, 200);
  return res.body._embedded.tasks;
}

async function panelText(p, state) {
  const root = p.locator(`${ROOT}[data-state="${state}"]`);
  await root.waitFor({ state: 'visible', timeout: 15_000 });
  return root.innerText();
}

test('the archive loads from the CDN origin and shows "no next step" for a deal without tasks', async () => {
  page = await openPage(browser);
  const scriptRequests = [];
  page.on('request', (req) => {
    if (req.url().includes('/widgets/leakguard/')) scriptRequests.push(req.url());
  });
  assert.deepEqual(await openTasks(demo.deal_without_task), []);
  await visit(page, sandbox, `/leads/detail/${demo.deal_without_task}`);
  const text = await panelText(page, 'missing');
  assert.ok(text.includes(ru.ui.card.no_next_step), text);
  const cdn = new URL(sandbox.cdn).origin;
  assert.notEqual(cdn, new URL(sandbox.app).origin);
  for (const file of ['script.js', 'leakguard.js', 'leakguard_bg.wasm']) {
    assert.ok(scriptRequests.some((u) => new URL(u).origin === cdn && u.includes(`/${file}`)), `${file} came from the CDN origin`);
  }
});

test('a deal with an open task shows the task text and its deadline', async () => {
  const tasks = await openTasks(demo.deal_with_task);
  assert.ok(tasks.length > 0);
  const next = tasks.reduce((a, b) => (a.complete_till <= b.complete_till ? a : b));
  assert.ok(next.complete_till * 1000 > Date.now(), 'the showcase task is in the future');
  page = await openPage(browser);
  await visit(page, sandbox, `/leads/detail/${demo.deal_with_task}`);
  const text = await panelText(page, 'scheduled');
  assert.ok(text.includes(next.text), `${text} should include ${next.text}`);
  const root = page.locator(ROOT);
  assert.equal(await root.getAttribute('data-due'), String(next.complete_till));
});

test('an overdue deal is highlighted as overdue, in English for an English user', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, `/leads/detail/${demo.deal_overdue}`, { lang: 'en' });
  const text = await panelText(page, 'overdue');
  const since = en.ui.card.overdue_since.split('{')[0].trim();
  assert.ok(text.includes(since), `${text} should say "${since}"`);
});

test('won and lost deals say they are closed without asking for a next step', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, `/leads/detail/${demo.deal_won}`);
  assert.ok((await panelText(page, 'closed-won')).includes(ru.ui.card.closed_won));
  await visit(page, sandbox, `/leads/detail/${demo.deal_lost}`);
  assert.ok((await panelText(page, 'closed-lost')).includes(ru.ui.card.closed_lost));
});

test('a 500 from the API shows an error with a retry that then succeeds', async () => {
  await sandbox.control('POST', '/__sandbox/faults', { method: 'GET', path: '/api/v4/tasks', kind: 'status', status: 500, count: 1 });
  page = await openPage(browser);
  page.expected = [/status of 500/];
  await visit(page, sandbox, `/leads/detail/${demo.deal_without_task}`);
  const text = await panelText(page, 'error');
  assert.ok(text.includes(fill(ru.ui.error.http, { status: 500 })), text);
  await page.locator(`${ROOT} button`).click();
  await panelText(page, 'missing');
});

test('dropped connections show the network error, never a blank block, and retry recovers', async () => {
  // Chromium silently retries a GET on a dropped kept-alive connection, so drop every attempt.
  await sandbox.control('POST', '/__sandbox/faults', { method: 'GET', path: '/api/v4/tasks', kind: 'drop', count: 20 });
  page = await openPage(browser);
  page.expected = [/ERR_EMPTY_RESPONSE/];
  await visit(page, sandbox, `/leads/detail/${demo.deal_without_task}`);
  const text = await panelText(page, 'error');
  assert.ok(text.includes(ru.ui.error.network), text);
  await sandbox.control('DELETE', '/__sandbox/faults');
  await page.locator(`${ROOT} button`).click();
  await panelText(page, 'missing');
});

test('leaving the card destroys the widget: no root, no stylesheet, nothing left behind', async () => {
  page = await openPage(browser);
  await visit(page, sandbox, `/leads/detail/${demo.deal_with_task}`);
  await panelText(page, 'scheduled');
  const styles = () => page.evaluate(() => document.querySelectorAll('link[href*="/widgets/leakguard/"]').length);
  assert.equal(await styles(), 1);
  const lead = (await sandbox.api('GET', `/api/v4/leads/${demo.deal_with_task}`)).body;
  await page.evaluate((id) => window.APP.router.navigate(`/leads/pipeline/${id}`, { trigger: true }), lead.pipeline_id);
  await page.waitForFunction(() => !window.APP.data.current_card);
  assert.equal(await page.locator('[data-leakguard-root]').count(), 0);
  assert.equal(await styles(), 0);
});

test('requests per card open: one task request; time from script.js request to a visible panel', async () => {
  await sandbox.control('DELETE', '/__sandbox/requests');
  page = await openPage(browser);
  // Records, in page time, the moment the panel first shows a settled state.
  await page.addInitScript(() => {
    const seen = () => document.querySelector('[data-leakguard-root][data-state]:not([data-state="loading"])');
    new MutationObserver((_, obs) => {
      if (seen()) {
        window.__panelVisibleAt = performance.now();
        obs.disconnect();
      }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  await visit(page, sandbox, `/leads/detail/${demo.deal_with_task}`);
  await panelText(page, 'scheduled');
  const timing = await page.evaluate(() => {
    const script = performance.getEntriesByType('resource').find((e) => e.name.includes('/widgets/leakguard/') && e.name.includes('/script.js'));
    return { scriptStart: script.startTime, visible: window.__panelVisibleAt };
  });
  const log = (await sandbox.control('GET', '/__sandbox/requests')).body.filter((r) => r.client !== 'host');
  assert.equal(log.length, 1, JSON.stringify(log));
  assert.match(log[0].path, /^\/api\/v4\/tasks/);
  console.log(`# script.js request to visible panel: ${(timing.visible - timing.scriptStart).toFixed(1)} ms`);
});
