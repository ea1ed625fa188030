// Smoke test: the real server with a demo election, opened in Debian's Chromium.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.BALLOTCHAIN_BIN;
const SITE = process.env.LEPTOS_SITE_ROOT;
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

let server;
let base;
let browser;

function startServer(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', '--demo', '--db', join(dir, 'e2e.db'), '--demo-codes', join(dir, 'codes.csv'), '--addr', '127.0.0.1:0'], {
      env: { ...process.env, LEPTOS_SITE_ROOT: SITE },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

before(async () => {
  assert.ok(BIN, 'BALLOTCHAIN_BIN must name the built binary');
  const dir = mkdtempSync(join(tmpdir(), 'ballotchain-e2e-'));
  ({ child: server, url: base } = await startServer(dir));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Playwright gives every launch a fresh temporary profile (user data dir).
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 360, height: 740 }]]) {
  test(`home page lists the demo election and hydrates (${name})`, async () => {
    const page = await browser.newPage({ viewport });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const failed = [];
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
    const wasm = page.waitForResponse((r) => r.url().endsWith('/pkg/ballotchain.wasm'));
    await page.goto(base + '/');
    assert.equal((await wasm).status(), 200, 'the hydration bundle is served');
    const card = page.locator('.election-card', { hasText: 'Demo election' });
    await card.waitFor();
    assert.match(await card.innerText(), /Voting open/);
    assert.match(await card.innerText(), /20 registered voters/);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(errors, [], 'no script errors while hydrating');
    assert.deepEqual(failed, [], 'every request of the page succeeds');
    await page.screenshot({ path: join(ARTIFACTS, `home-${name}.png`), fullPage: true });
    await page.close();
  });
}
