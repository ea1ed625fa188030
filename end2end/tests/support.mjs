// Shared by the browser tests: the real server on 127.0.0.1 and Debian's Chromium.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromium } from 'playwright-core';

export const BIN = process.env.BALLOTCHAIN_BIN;
export const SITE = process.env.LEPTOS_SITE_ROOT;
export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

/**
 * Starts `ballotchain serve` on `addr` (a free port by default); resolves once it listens.
 * With `demo`, an empty database gets the demo election and accounts.
 */
export function startServer(dir, demo = true, addr = '127.0.0.1:0') {
  return new Promise((resolve, reject) => {
    const extra = demo ? ['--demo', '--demo-codes', join(dir, 'codes.csv')] : [];
    const child = spawn(BIN, ['serve', ...extra, '--db', join(dir, 'e2e.db'), '--addr', addr], {
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

/**
 * Every Content-Security-Policy violation any page of these tests reported. The server's
 * policy allows this site's scripts, the page's own nonce and WebAssembly only; a page
 * that needed more would stop working, so each test file ends by checking it is empty.
 */
export const cspViolations = [];
after(() => {
  // Not thrown: a failing hook would skip the test file's own clean-up and leave its
  // browser and servers running. The file fails by its exit code instead.
  if (cspViolations.length > 0) {
    console.error(`pages broke the Content-Security-Policy:\n${cspViolations.join('\n')}`);
    process.exitCode = 1;
  }
});

function watchPolicy(page) {
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
  });
}

/** Debian's Chromium, headless, with a fresh temporary profile (Playwright's default). */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  // `newPage` makes its context through `newContext`, so this sees every page.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...options) => {
    const context = await newContext(...options);
    context.on('page', watchPolicy);
    return context;
  };
  return browser;
}

/** A password the demo printed at start-up. */
export function demoPassword(out, who) {
  return out.match(new RegExp(`${who} / (\\S+)`))[1];
}

/** The key file `serve --demo` wrote for one of its validators, and their passphrase's file. */
export function demoKey(dir, who) {
  return { key: join(dir, `demo-${who}.key`), passphraseFile: join(dir, 'demo-validator-passphrase.txt') };
}

/** Runs the `ballotchain` CLI; resolves with its exit code and output (never rejects). */
export function cli(args) {
  return new Promise((resolve) => {
    execFile(BIN, args, { env: process.env }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * A validator's decision from the command line with their key file: the CLI re-verifies
 * the chain and the block, then signs. Throws with the CLI's words if it fails.
 */
export async function decideWithCli(base, { election, block, key, passphraseFile, reason }) {
  const args = [reason === undefined ? 'approve' : 'reject', '--server', base, '--election', String(election),
    '--block', block, '--key', key, '--passphrase-file', passphraseFile];
  if (reason !== undefined) args.push('--reason', reason);
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`ballotchain ${args[0]} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** On the validator dashboard: loads a key file, types its passphrase and unlocks it. */
export async function unlockKey(page, { key, passphrase }) {
  await page.locator('#key-file').setInputFiles(key);
  await page.getByLabel('Key file passphrase').fill(passphrase);
  await page.getByRole('button', { name: 'Unlock my key' }).click();
  await page.locator('[data-key="unlocked"]').waitFor();
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

/** A JSON API call; the answer's status and parsed body. */
export async function api(base, path, { method = 'GET', body, cookie } = {}) {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * Voting codes for `count` voters of an election, made as an office makes them offline:
 * `ballotchain codes` writes the codes sheet and the keys file, and only the keys file is
 * uploaded. Resolves with the codes, in roll order, and the roll hash the CLI printed.
 */
export async function registerVoters(base, cookie, election, count) {
  const work = mkdtempSync(join(tmpdir(), 'ballotchain-roll-'));
  const [roll, codes, keys] = ['roll.csv', 'codes.csv', 'keys.csv'].map((f) => join(work, f));
  writeFileSync(roll, `name,external_id\n${Array.from({ length: count }, (_, i) => `Voter ${i},`).join('\n')}\n`);
  const made = await cli(['codes', '--roll', roll, '--election', String(election), '--out', codes, '--keys', keys]);
  if (made.code !== 0) throw new Error(`ballotchain codes: ${made.stderr}`);
  const r = await fetch(`${base}/api/elections/${election}/voters`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', cookie },
    body: readFileSync(keys, 'utf8'),
  });
  if (r.status !== 201) throw new Error(`keys upload: ${r.status} ${await r.text()}`);
  const lines = readFileSync(codes, 'utf8').trim().split('\n').slice(1);
  return { codes: lines.map((l) => l.split(',')[2]), rollHash: made.stdout.match(/hash ([0-9a-f]{64})/)[1] };
}

/**
 * One trustee (threshold 1) seated in an election in set-up and its key ceremony run to
 * completion from the command line, as a trustee runs it: `ballotchain key new`, the
 * officer's invitation, `ballotchain trustee enrol`, the officer starts the ceremony, and
 * `ballotchain trustee ceremony --wait`. Opening needs the election key it makes.
 */
export async function trusteesReady(base, adminCookie, election) {
  const work = mkdtempSync(join(tmpdir(), 'ballotchain-trustee-'));
  const [key, passphrase] = ['trustee.key', 'passphrase'].map((f) => join(work, f));
  writeFileSync(passphrase, 'the passphrase of trustee1\n');
  const run = async (args) => {
    const r = await cli(args);
    if (r.code !== 0) throw new Error(`ballotchain ${args.slice(0, 2).join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  await run(['key', 'new', '--out', key, '--label', 'trustee1', '--passphrase-file', passphrase]);
  const seat = await api(base, `/elections/${election}/trustees`, { method: 'POST', cookie: adminCookie, body: { name: 'trustee1' } });
  if (seat.status !== 201) throw new Error(`invite trustee: ${seat.status} ${JSON.stringify(seat.body)}`);
  await run(['trustee', 'enrol', '--server', base, '--invitation', `${base}${seat.body.path}`, '--key', key, '--passphrase-file', passphrase]);
  const started = await api(base, `/elections/${election}/ceremony`, { method: 'POST', cookie: adminCookie, body: { threshold: 1 } });
  if (started.status !== 201) throw new Error(`start ceremony: ${started.status} ${JSON.stringify(started.body)}`);
  await run(['trustee', 'ceremony', '--server', base, '--election', String(election), '--key', key, '--passphrase-file', passphrase, '--wait', '60']);
}

/**
 * A test's own open election, set up through the JSON API by a signed-in admin: the
 * candidates named, `voters` voters (codes made with `ballotchain codes`, in order), the
 * demo's validator1 and validator2, quorum 2, and one trustee whose key ceremony is
 * complete. Every set-up call is checked.
 */
export async function openElection(base, adminCookie, { title, difficulty = 8, candidates = ['Ada Lovelace', 'Grace Hopper'], voters = 1 }) {
  const cookie = adminCookie;
  const call = async (path, body, expected) => {
    const r = await api(base, path, { method: 'POST', cookie, body });
    if (r.status !== expected) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const { id } = await call('/elections', { title, difficulty_bits: difficulty, quorum: 2 }, 201);
  const ids = [];
  for (const name of candidates) ids.push((await call(`/elections/${id}/candidates`, { name }, 201)).id);
  const { codes } = await registerVoters(base, cookie, id, voters);
  for (const username of ['validator1', 'validator2']) await call(`/elections/${id}/validators`, { username }, 201);
  await trusteesReady(base, cookie, id);
  await call(`/elections/${id}/open`, undefined, 200);
  return { id, candidates: ids, codes };
}

/** Waits until `condition()` holds, checking every 50 ms, for at most `ms`. */
export async function until(condition, ms = 10_000, what = 'the condition') {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits for the outcome a form's action tells (`?done=name` or `?error=name` on the page
 * it lands on). The page shows it once and takes it out of the address at once, so the
 * outcome is looked for on the page, not in the URL.
 */
export async function notice(page, name) {
  await page.locator(`[data-notice="${name}"]`).waitFor({ timeout: 30_000 });
}

/**
 * Casts the ballot filled in on the ballot page. With JavaScript the choice is sealed
 * first (cast-or-audit), then cast; without it the form posts at once.
 */
export async function castBallot(page) {
  const button = page.getByRole('button', { name: /^(Seal my ballot|Cast my vote)$/ }).first();
  await button.waitFor();
  if ((await button.innerText()).trim() === 'Seal my ballot') {
    await button.click();
    await page.locator('section.sealed').waitFor();
    // The sealed ballot restates the choice and is brought into view, Cast first: on a
    // phone it would otherwise appear below the fold.
    const checked = await page.locator('input[name=candidate_id]:checked').getAttribute('id');
    const chosen = await page.locator(`label[for="${checked}"] strong`).innerText();
    const sealed = await page.locator('section.sealed .chosen').innerText();
    if (sealed !== `You chose ${chosen}.`) throw new Error(`the sealed ballot says "${sealed}", not the choice ${chosen}`);
    const cast = page.getByRole('button', { name: 'Cast my vote' });
    const view = page.viewportSize();
    const inView = async () => {
      const box = await cast.boundingBox();
      return box && box.y >= 0 && box.y + box.height <= view.height;
    };
    await until(inView, 3000, 'Cast my vote in view after sealing');
  }
  await page.getByRole('button', { name: 'Cast my vote' }).click();
}
