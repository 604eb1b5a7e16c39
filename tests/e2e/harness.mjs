// The end-to-end harness: starts the sandbox (a local amoCRM) with the packed widget archive,
// drives Debian's headless Chromium with playwright-core, and records every console error.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const env = (name, fallback) => process.env[name] || fallback;

/** The language files shipped in the archive, to assert on the exact texts users see. */
export function i18n(lang) {
  return JSON.parse(readFileSync(path.join(repoRoot, 'i18n', `${lang}.json`), 'utf8'));
}

/** Fills `{name}` placeholders the way the widget does. */
export function fill(template, params) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** Starts the sandbox on free ports and resolves with its URLs, token and control helpers. */
export async function startSandbox(extraArgs = []) {
  const bin = env('LEAKGUARD_SANDBOX_BIN', path.join(repoRoot, 'target/debug/leakguard-sandbox'));
  const zip = env('LEAKGUARD_WIDGET_ZIP', path.join(repoRoot, 'dist/widget.zip'));
  const child = spawn(bin, ['--port', '0', '--cdn-port', '0', '--widget', `leakguard=${zip}`, ...extraArgs], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the sandbox did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the sandbox exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.startsWith('SANDBOX ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('SANDBOX '.length)));
      }
    });
  });
  const control = async (method, route, body) => {
    const res = await fetch(info.app + route, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const api = async (method, route, body) => {
    const res = await fetch(info.app + route, {
      method,
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    ...info,
    control,
    api,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

/** Launches headless Chromium with the flags this closed network needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Opens a page that records console errors, page errors and failed requests into `problems`.
 * Every test ends with `assertNoProblems(page)`.
 */
export async function openPage(browser) {
  const context = await browser.newContext({ locale: 'ru-RU' });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') page.problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => page.problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  if (process.env.E2E_TRACE) {
    page.on('request', (req) => console.log('# >', req.method(), req.url()));
    page.on('requestfinished', (req) => console.log('# <', req.url()));
    page.on('console', (msg) => console.log('# console', msg.type(), msg.text()));
  }
  return page;
}

/** Logs in as a sandbox user with a language and opens a path. */
export async function visit(page, sandbox, pathname, { user, lang = 'ru' } = {}) {
  sandbox.adminId ??= (await sandbox.control('GET', '/__sandbox/demo')).body.admin_user_id;
  const params = new URLSearchParams({ user: String(user ?? sandbox.adminId), lang, next: pathname });
  await page.goto(`${sandbox.app}/__sandbox/login?${params}`);
}

/**
 * The problems a test did not declare as expected: `page.expected` holds regular expressions for
 * the browser's own reports of faults the test injected on purpose (e.g. "Failed to load resource").
 */
export function unexpectedProblems(page) {
  const expected = page.expected ?? [];
  return page.problems.filter((p) => !expected.some((re) => re.test(p)));
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the LeakGuard backend beside a running sandbox, connected to its account with the
 * sandbox's long-lived token, on `port` (pick it with `freePort()` and give the sandbox
 * `--integration leakguard=http://127.0.0.1:<port>/oauth/callback` so the widget's tokens name
 * this backend as their audience). Resolves once `/health` answers.
 */
export async function startBackend(sandbox, { port, env: extra = {} } = {}) {
  port ??= await freePort();
  const bin = env('LEAKGUARD_SERVER_BIN', path.join(repoRoot, 'target/debug/leakguard-server'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'leakguard-backend-'));
  const url = `http://127.0.0.1:${port}`;
  const integration = sandbox.integrations.leakguard;
  const child = spawn(bin, [], {
    cwd: dataDir,
    stdio: ['ignore', 'ignore', process.env.E2E_TRACE ? 'inherit' : 'ignore'],
    env: {
      ...process.env,
      LEAKGUARD_LISTEN: `127.0.0.1:${port}`,
      LEAKGUARD_DATA_DIR: dataDir,
      LEAKGUARD_REDIRECT_URI: `${url}/oauth/callback`,
      LEAKGUARD_AMO_BASE_URL: sandbox.app,
      LEAKGUARD_LLT_ACCOUNT_ID: String(sandbox.account_id),
      LEAKGUARD_LLT_BASE_URL: sandbox.app,
      LEAKGUARD_LLT_TOKEN: sandbox.token,
      LEAKGUARD_CLIENT_ID: integration.client_id,
      LEAKGUARD_CLIENT_SECRET: integration.secret,
      LEAKGUARD_LOG: process.env.LEAKGUARD_LOG || 'warn',
      ...extra,
    },
  });
  let exited = null;
  child.once('exit', (code) => (exited = code ?? 'signal'));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) throw new Error(`the backend exited with ${exited}`);
    if (Date.now() > deadline) throw new Error('the backend did not answer /health within 30 s');
    const up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  /** A widget token as amoCRM's `$authorizedAjax` makes it: HS256 with the integration's secret. */
  const token = (userId) => {
    const now = Math.floor(Date.now() / 1000);
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
      iss: sandbox.app, aud: url, jti: randomUUID(), iat: now, nbf: now, exp: now + 600,
      account_id: sandbox.account_id, user_id: userId ?? null, client_uuid: integration.client_id,
    })}`;
    return `${body}.${createHmac('sha256', integration.secret).update(body).digest('base64url')}`;
  };
  /** A call to the backend's widget API as `userId`. */
  const api = async (method, route, body, userId) => {
    const res = await fetch(url + route, {
      method,
      headers: { 'x-auth-token': token(userId), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    url,
    token,
    api,
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
