// Benchmark of the key-metrics page, run by hand (not a test): `node e2e/bench_metrics.mjs` from
// `tests/`, after `cargo xtask pack` and `cargo build --release -p leakguard-sandbox`.
//
// 1. Requests and wall time: the page loads the 100 000-deal demo in headless Chromium; the
//    requests are counted from the sandbox's request log and set against the lower bound
//    ceil(deals / 250) + ceil(tasks / 250) of reading every deal and task once.
// 2. Compute time in the browser for 100 000 deals and 300 000 tasks once fetched, JSON decoding
//    included: the widget's wasm (`benchmark` export of the metrics module) against the plain
//    JavaScript reference (`metrics_reference.mjs`), same pages, same browser, both checked equal.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startSandbox, launchBrowser, openPage, visit, repoRoot } from './harness.mjs';

const DEALS = Number(process.env.BENCH_DEALS || 100_000);
const TASKS = Number(process.env.BENCH_TASKS || 300_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const SETTINGS = {
  stuck: { enabled: true, default_limit: { working_days: 2 }, default_escalate_after: { working_days: 5 }, stages: [] },
  calendar: { kind: 'custom', weekend: [6, 7], holidays: [], extra_working_days: [] },
};

const release = path.join(repoRoot, 'target/release/leakguard-sandbox');
if (!process.env.LEAKGUARD_SANDBOX_BIN && existsSync(release)) process.env.LEAKGUARD_SANDBOX_BIN = release;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** How many items a list has: the last page found by doubling, then halving (few requests). */
async function count(sandbox, list) {
  const items = async (page) => {
    for (;;) {
      await sleep(160);
      const res = await sandbox.api('GET', `/api/v4/${list}?limit=250&page=${page}`);
      if (res.status === 429) { await sleep(1100); continue; }
      return res.status === 204 ? 0 : res.body._embedded[list].length;
    }
  };
  let full = 0;
  let empty = 1;
  while ((await items(empty)) === 250) { full = empty; empty *= 2; }
  while (empty - full > 1) {
    const mid = Math.floor((full + empty) / 2);
    if ((await items(mid)) === 250) full = mid; else empty = mid;
  }
  return full * 250 + (await items(full + 1));
}

async function requestsAndWallTime(browser) {
  const sandbox = await startSandbox(['--deals', String(DEALS)]);
  try {
    const deals = await count(sandbox, 'leads');
    const tasks = await count(sandbox, 'tasks');
    const page = await openPage(browser);
    await visit(page, sandbox, '/settings/widgets/');
    await page.waitForLoadState('networkidle');
    await sleep(1100);
    await sandbox.control('DELETE', '/__sandbox/requests');
    const started = Date.now();
    await visit(page, sandbox, '/settings/widgets/leakguard/');
    await page.locator('[data-leakguard-metrics][data-state="ready"]').waitFor({ timeout: 900_000 });
    const wall = (Date.now() - started) / 1000;
    const log = (await sandbox.control('GET', '/__sandbox/requests')).body.filter((e) => e.client === 'session' && e.path.startsWith('/api/v4/'));
    const empty = log.filter((e) => e.status === 204).length;
    const limited = log.filter((e) => e.status === 429).length;
    const span = (log.at(-1).ts_ms - log[0].ts_ms) / 1000;
    await page.context().close();
    return { deals, tasks, requests: log.length, empty, limited, wall, span, bound: Math.ceil(deals / 250) + Math.ceil(tasks / 250) };
  } finally {
    await sandbox.stop();
  }
}

/** Builds API-shaped pages of deals and tasks in the page (a seeded generator, not timed). */
function generate({ deals, tasks, now }) {
  let seed = 7;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const day = 86400;
  const pipelines = [[7100001, [61000001, 61000002, 61000003, 61000004, 61000005]], [7100002, [61000007, 61000008, 61000009]], [7100003, [61000013, 61000014]]];
  const users = [8100002, 8100003, 8100004, 8100005, 8100006];
  const leadPages = [];
  let page = [];
  for (let i = 0; i < deals; i++) {
    const id = 21000001 + i;
    const [pipeline, stages] = pipelines[rnd(3)];
    const roll = rnd(100);
    const status = roll < 15 ? 142 : roll < 27 ? 143 : stages[rnd(stages.length)];
    const created = now - rnd(180 * day);
    const updated = created + rnd(Math.max(1, now - created));
    const user = users[rnd(users.length)];
    page.push({
      id, name: `Поставка оборудования — ООО «Ромашка» ${id}`, price: rnd(1500) * 1000, responsible_user_id: user,
      group_id: 401001 + (user % 2), status_id: status, pipeline_id: pipeline, loss_reason_id: status === 143 ? 9500001 + rnd(5) : null,
      created_by: user, updated_by: user, created_at: created, updated_at: updated, closed_at: status === 142 || status === 143 ? updated : null,
      closest_task_at: null, is_deleted: false, custom_fields_values: null, score: null, account_id: 30125479,
      labor_cost: null, _links: { self: { href: `https://leakguard-demo.amocrm.ru/api/v4/leads/${id}` } },
      _embedded: { tags: [], companies: [{ id: 41000001 + rnd(16), _links: { self: { href: 'https://leakguard-demo.amocrm.ru/api/v4/companies/41000001' } } }] },
    });
    if (page.length === 250 || i === deals - 1) {
      leadPages.push(JSON.stringify({ _page: leadPages.length + 1, _links: { self: { href: '/api/v4/leads' } }, _embedded: { leads: page } }));
      page = [];
    }
  }
  const taskPages = [];
  for (let i = 0; i < tasks; i++) {
    const id = 51000001 + i;
    const done = rnd(100) < 60;
    const user = users[rnd(users.length)];
    page.push({
      id, created_by: user, updated_by: user, created_at: now - 30 * day, updated_at: now - 10 * day, responsible_user_id: user,
      group_id: 0, entity_id: 21000001 + rnd(deals), entity_type: rnd(100) < 95 ? 'leads' : 'contacts', is_completed: done,
      task_type_id: 1, text: 'Перезвонить клиенту', duration: 0, complete_till: now - 20 * day + rnd(30 * day),
      result: done ? { text: 'Связались с клиентом' } : [], account_id: 30125479,
      _links: { self: { href: `https://leakguard-demo.amocrm.ru/api/v4/tasks/${id}` } },
    });
    if (page.length === 250 || i === tasks - 1) {
      taskPages.push(JSON.stringify({ _page: taskPages.length + 1, _links: { self: { href: '/api/v4/tasks' } }, _embedded: { tasks: page } }));
      page = [];
    }
  }
  // The pages as fetch hands them over: UTF-8 bytes.
  const encoder = new TextEncoder();
  window.__bench = { leadPages: leadPages.map((p) => encoder.encode(p)), taskPages: taskPages.map((p) => encoder.encode(p)) };
  const bytes = [...window.__bench.leadPages, ...window.__bench.taskPages].reduce((n, p) => n + p.length, 0);
  return { leadPages: leadPages.length, taskPages: taskPages.length, megabytes: bytes / 1e6 };
}

async function computeTimes(browser) {
  const sandbox = await startSandbox(['--fixture', 'empty']).catch(() => startSandbox(['--deals', '10']));
  try {
    const page = await openPage(browser);
    await visit(page, sandbox, '/settings/widgets/');
    await page.waitForLoadState('networkidle');
    const base = await page.evaluate(async () => {
      const bootstrap = await (await fetch('/ajax/sandbox/bootstrap', { headers: { 'X-Requested-With': 'XMLHttpRequest' } })).json();
      return bootstrap.widgets.find((w) => w.code === 'leakguard').cdn_path;
    });
    const reference = readFileSync(path.join(repoRoot, 'tests/e2e/metrics_reference.mjs'), 'utf8');
    const now = Math.floor(Date.now() / 1000);
    const sizes = await page.evaluate(generate, { deals: DEALS, tasks: TASKS, now });
    const result = await page.evaluate(async ({ base, reference, now, runs, settings }) => {
      const wasm = await import(`${base}/leakguard_metrics.js`);
      await wasm.default({ module_or_path: `${base}/leakguard_metrics_bg.wasm` });
      const js = await import(URL.createObjectURL(new Blob([reference], { type: 'text/javascript' })));
      const { leadPages, taskPages } = window.__bench;
      const from = now - 30 * 86400;
      const times = { wasm: [], js: [] };
      let outWasm;
      let outJs;
      for (let run = 0; run < runs; run++) {
        let t = performance.now();
        outWasm = [...wasm.benchmark(leadPages, taskPages, new Float64Array([now, from, now + 86400]), 'Europe/Moscow', JSON.stringify(settings), 'RU')];
        times.wasm.push(performance.now() - t);
        t = performance.now();
        const m = js.fromPages({
          leadPages, taskPages, now, filter: { from, to: now + 86400, pipeline: null, manager: null, group: null },
          stuck: settings.stuck, isWorking: js.customCalendar(settings.calendar), offset: js.zoneOffsets('Europe/Moscow'),
        });
        outJs = js.headline(m);
        times.js.push(performance.now() - t);
      }
      return { times, outWasm, outJs };
    }, { base, reference, now, runs: RUNS, settings: SETTINGS });
    await page.context().close();
    return { sizes, ...result };
  } finally {
    await sandbox.stop();
  }
}

const browser = await launchBrowser();
try {
  const compute = process.env.BENCH_SKIP_COMPUTE ? null : await computeTimes(browser);
  if (compute) {
    const same = JSON.stringify(compute.outWasm) === JSON.stringify(compute.outJs);
    console.log(`compute: ${DEALS} deals (${compute.sizes.leadPages} pages), ${TASKS} tasks (${compute.sizes.taskPages} pages), ${compute.sizes.megabytes.toFixed(1)} MB of JSON`);
    console.log(`| wasm: bytes → serde_json → leakguard-core | ${median(compute.times.wasm).toFixed(0)} ms | runs: ${compute.times.wasm.map((t) => t.toFixed(0)).join(', ')} |`);
    console.log(`| JavaScript: bytes → TextDecoder + JSON.parse → reference | ${median(compute.times.js).toFixed(0)} ms | runs: ${compute.times.js.map((t) => t.toFixed(0)).join(', ')} |`);
    console.log(`headline numbers equal: ${same} ${JSON.stringify(compute.outWasm)}${same ? '' : ` vs ${JSON.stringify(compute.outJs)}`}`);
  }
  if (!process.env.BENCH_SKIP_LOAD) {
    const load = await requestsAndWallTime(browser);
    console.log(`load: ${load.deals} deals, ${load.tasks} tasks in the sandbox`);
    console.log(`| requests used | ${load.requests} (of which ${load.empty} answered 204, ${load.limited} answered 429) |`);
    console.log(`| lower bound ceil(deals/250) + ceil(tasks/250) | ${load.bound} |`);
    console.log(`| wall time, page open → numbers shown | ${load.wall.toFixed(1)} s (requests spread over ${load.span.toFixed(1)} s = ${(load.requests / load.span).toFixed(2)} req/s) |`);
    console.log(`| the same requests at exactly 7 req/s | ${(load.requests / 7).toFixed(1)} s |`);
  }
} finally {
  await browser.close();
}
