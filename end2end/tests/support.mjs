// Shared by the browser tests: the real server on 127.0.0.1 and Debian's Chromium.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BIN = process.env.BALLOTCHAIN_BIN;
export const SITE = process.env.LEPTOS_SITE_ROOT;
export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

/** Starts `ballotchain serve` on a free port; resolves once it listens. */
export function startServer(dir, demo = true) {
  return new Promise((resolve, reject) => {
    const extra = demo ? ['--demo', '--demo-codes', join(dir, 'codes.csv')] : [];
    const child = spawn(BIN, ['serve', ...extra, '--db', join(dir, 'e2e.db'), '--addr', '127.0.0.1:0'], {
      env: { ...process.env, LEPTOS_SITE_ROOT: SITE },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1], out });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

/** Debian's Chromium, headless, with a fresh temporary profile (Playwright's default). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A password the demo printed at start-up. */
export function demoPassword(out, who) {
  return out.match(new RegExp(`${who} / (\\S+)`))[1];
}

/** Signs in through the login page. */
export async function signIn(page, base, who, password, landing) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(who);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(landing);
}

/** Signs in through the JSON API and returns the session cookie. */
export async function apiSession(base, username, password) {
  const r = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (r.status !== 200) throw new Error(`sign-in of ${username}: ${r.status}`);
  return r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}
