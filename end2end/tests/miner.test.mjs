// The volunteer's miner page: WebAssembly workers in Debian's Chromium against the real
// server. Kernels are checked against native vectors, a block is mined, approved in the
// validators' dashboards (each unlocking their own key file) and shown in the explorer; stop terminates the workers; a tip
// that moves while mining makes the page start over without submitting anything stale.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, BIN, api, apiSession, decideWithCli, demoKey, demoPassword, launchBrowser, openElection, signIn, startServer, unlockKey, until } from './support.mjs';

let server;
let base;
let out;
let browser;
let adminCookie;
let dir;

const call = (path, options) => api(base, path, options);
const election = (title, difficulty, voters) =>
  openElection(base, adminCookie, { title, difficulty, candidates: ['Ada', 'Grace'], voters });

async function vote(e, i) {
  const r = await call(`/elections/${e.id}/votes`, { method: 'POST', body: { code: e.codes[i], candidate_id: e.candidates[i % 2] } });
  assert.equal(r.status, 202);
}

/** The miner page with `workers` workers, started; every block submission is recorded. */
async function openMiner(path, workers, tag) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const submissions = [];
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && /\/blocks$/.test(new URL(r.url()).pathname)) submissions.push(r.status());
  });
  await page.goto(`${base}${path}`);
  // The page follows the election (its event stream stays open): it says when it is live.
  await page.locator('html[data-live="open"]').waitFor();
  await page.getByLabel('Workers (threads)').fill(String(workers));
  if (tag) await page.getByLabel(/Miner tag/).fill(tag);
  // Record every hashrate and status the page shows: a block at low difficulty can be
  // found between two looks.
  await page.evaluate(() => {
    const rate = document.querySelector('#miner-rate');
    const status = document.querySelector('#miner-status');
    window.peakRate = 0;
    window.statuses = [];
    new MutationObserver(() => { window.peakRate = Math.max(window.peakRate, Number(rate.dataset.rate)); })
      .observe(rate, { attributes: true });
    new MutationObserver(() => window.statuses.push(status.innerText))
      .observe(status, { childList: true, subtree: true, characterData: true });
  });
  await page.getByRole('button', { name: 'Start mining' }).click();
  return { page, errors, submissions };
}

const rate = (page) => page.locator('#miner-rate').getAttribute('data-rate').then(Number);
const tried = (page) => page.locator('#miner-tried').getAttribute('data-tried').then(Number);

before(async () => {
  assert.ok(BIN, 'BALLOTCHAIN_BIN must name the built binary');
  dir = mkdtempSync(join(tmpdir(), 'ballotchain-e2e-miner-'));
  ({ child: server, url: base, out } = await startServer(dir));
  browser = await launchBrowser();
  adminCookie = await apiSession(base, 'admin', demoPassword(out, 'admin'));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('both worker kernels hash the fixed vectors exactly as the native ledger does', async () => {
  // An election with no vote yet: the page explains, the workers still start and report
  // their self-check (13 fixed hashes plus a 16-bit search, see ledger/src/pow_vectors.rs
  // and miner/src/vectors.rs).
  const e = await election('Kernels', 16, 1);
  for (const [query, kernel] of [['', /simd128, 8 lanes, self-check passed \(14 vectors\)/], ['?kernel=scalar', /scalar, 1 lane, self-check passed \(14 vectors\)/]]) {
    const { page, errors } = await openMiner(`/e/${e.id}/mine${query}`, 2);
    const polls = [];
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith(`/api/elections/${e.id}`)) polls.push(`${r.status()} ${path}`);
    });
    await page.locator('#worker-list li[data-ok="true"]').nth(1).waitFor();
    for (const line of await page.locator('#worker-list li').allInnerTexts()) assert.match(line, kernel);
    await page.getByText(/Nothing to mine right now: no votes are waiting/).waitFor();
    assert.equal(await rate(page), 0);
    // While it waits, the page watches the pool's size instead of being refused work
    // (and logging a failed request) every second.
    await until(() => polls.filter((p) => p === `200 /api/elections/${e.id}`).length >= 2, 10_000, 'two looks at the pool');
    assert.ok(polls.filter((p) => p === `409 /api/elections/${e.id}/work`).length <= 1, polls.join(', '));
    await page.getByRole('button', { name: 'Stop' }).click();
    assert.deepEqual(errors, []);
    await page.close();
  }
});

test('a block mined in the browser is approved in two dashboards and shown with its tag', async () => {
  // 24 bits: a few seconds for two workers, so the hashrate is seen before the block.
  const e = await election('Browser mining', 24, 4);
  await vote(e, 0);
  await vote(e, 1);
  const { page, errors, submissions } = await openMiner(`/e/${e.id}/mine`, 2, 'e2e-browser');
  const found = page.locator('#found-list li[data-status="awaiting"]');
  await found.waitFor({ timeout: 120_000 });
  const hash = await found.getAttribute('data-hash');
  assert.ok(await page.evaluate(() => window.peakRate) > 0, 'a hashrate was shown');
  const statuses = await page.evaluate(() => window.statuses);
  assert.ok(statuses.some((s) => /Mining block 1 with 2 votes/.test(s)), statuses.join(' | '));
  assert.ok(statuses.some((s) => /Block 1 found and submitted/.test(s)), statuses.join(' | '));
  assert.equal(await page.locator('#worker-list li').count(), 2);
  assert.deepEqual(submissions, [202]);
  // Submitted: the workers wait for the validators (no competing block on the same votes),
  // and the page still shows the rate it measured while hashing.
  await page.waitForFunction(() => document.querySelector('#miner-rate')?.dataset.hashing === 'false');
  assert.ok(await rate(page) > 0, 'the rate measured while hashing stays shown');
  assert.match(await page.locator('#miner-rate').innerText(), /H\/s \(while hashing; waiting now\)/);
  // A second volunteer opens the page while the block awaits: there is nothing new to
  // mine, said as such, and nothing is submitted.
  {
    const second = await openMiner(`/e/${e.id}/mine`, 1, 'second');
    await second.page.getByText(/Nothing to mine right now: every waiting vote is already in block 1 \([0-9a-f]{64}\), which awaits the validators/).waitFor();
    await second.page.waitForTimeout(3_000);
    assert.deepEqual(second.submissions, []);
    assert.deepEqual(second.errors, []);
    await second.page.close();
  }
  const detail = (await api(base, `/elections/${e.id}`)).body;
  assert.deepEqual([detail.pending_votes, detail.awaiting_votes], [0, 2]);

  // A dashboard whose server lies about the block (a ballot altered) sees it fail in the
  // browser's own check and gets no Approve.
  const liar = await browser.newContext();
  const lp = await liar.newPage();
  await lp.route('**/blocks/*/raw', async (route) => {
    // Edited as text: JSON.parse would round the 64-bit nonce.
    const text = await (await route.fetch()).text();
    // One hex digit of the first vote's encrypted ballot changed.
    const lie = text.replace(/"ballot":"(.{100})(.)/, (_, head, digit) => `"ballot":"${head}${digit === '0' ? '1' : '0'}`);
    assert.notEqual(lie, text);
    await route.fulfill({ body: lie, contentType: 'application/json' });
  });
  await signIn(lp, base, 'validator1', demoPassword(out, 'validator1'), /\/validator$/);
  const lied = lp.locator(`article[data-block="${hash}"]`);
  await lied.locator('.browser-check[data-verdict="failed"]').waitFor();
  assert.match(await lied.locator('.browser-check').innerText(), /failed: .*(merkle|signature)/i);
  assert.equal(await lied.getByRole('button', { name: 'Approve' }).isDisabled(), true);
  await liar.close();

  for (const who of ['validator1', 'validator2']) {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const vp = await ctx.newPage();
    await signIn(vp, base, who, demoPassword(out, who), /\/validator$/);
    const { key, passphraseFile } = demoKey(dir, who);
    await unlockKey(vp, { key, passphrase: readFileSync(passphraseFile, 'utf8').trim() });
    const card = vp.locator(`article[data-block="${hash}"]`);
    await card.locator('.browser-check[data-verdict="passed"]').waitFor();
    await card.getByRole('button', { name: 'Approve' }).click();
    await vp.getByRole('status').filter({ hasText: /Approved block 1/ }).waitFor();
    await ctx.close();
  }
  // The page follows its block to the chain, then has nothing left to mine.
  await page.locator(`#found-list li[data-hash="${hash}"][data-status="appended"]`).waitFor();
  await page.getByText(/Nothing to mine right now/).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'miner-appended.png'), fullPage: true });
  // A new vote while the page waits: it notices and mines block 2 on the new tip.
  await vote(e, 2);
  await page.waitForFunction(() => window.statuses.some((s) => /Mining block 2 with 1 vote/.test(s)));
  const explorer = await browser.newPage();
  await explorer.goto(`${base}/e/${e.id}/chain`);
  assert.match(await explorer.locator('.block-list').innerText(), /Block 1[\s\S]*mined by e2e-browser/);
  await explorer.close();
  assert.deepEqual(errors, []);
  await page.close();
});

test('stop really stops: the hashrate drops to zero and the workers are gone, as they are when leaving the page', async () => {
  // 40 bits is out of reach: the workers hash until told to stop.
  const e = await election('Unreachable work', 40, 1);
  await vote(e, 0);
  const { page, errors, submissions } = await openMiner(`/e/${e.id}/mine`, 2);
  await page.waitForFunction(() => Number(document.querySelector('#miner-rate')?.dataset.rate) > 0);
  assert.equal(page.workers().length, 2);
  assert.match(await page.locator('#miner-eta').innerText(), /about \d+ (h|days)/);
  await page.screenshot({ path: join(ARTIFACTS, 'miner-running.png'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: join(ARTIFACTS, 'miner-running-phone.png'), fullPage: true });
  const before = await tried(page);
  await until(async () => (await tried(page)) > before, 10_000, 'hashes counted while mining');
  await page.getByRole('button', { name: 'Stop' }).click();
  assert.equal(await rate(page), 0);
  const stopped = await tried(page);
  // Terminated workers cannot report: once they are gone the count is final.
  await until(() => page.workers().length === 0, 10_000, 'the worker threads to be terminated');
  assert.equal(await tried(page), stopped, 'no hash is counted after stop');
  // Leaving the page (a client-side navigation) ends mining too.
  await page.getByRole('button', { name: 'Start mining' }).click();
  await page.waitForFunction(() => Number(document.querySelector('#miner-rate')?.dataset.rate) > 0);
  assert.equal(page.workers().length, 2);
  await page.getByRole('link', { name: 'Explore the chain' }).click();
  await page.waitForURL(new RegExp(`/e/${e.id}/chain$`));
  await page.locator('.block-list, main h1').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('#miner-rate'));
  await until(() => page.workers().length === 0, 10_000, 'leaving the miner page to terminate its workers');
  assert.deepEqual(submissions, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('when the tip moves while mining, the page restarts on it and submits nothing stale', async () => {
  const e = await election('Moving tip', 22, 3);
  await vote(e, 0);
  // Someone else's block with that vote waits for approval...
  execFileSync(BIN, ['mine', '--server', base, '--election', String(e.id), '--once', '--tag', 'cli-miner']);
  const [theirs] = (await call(`/elections/${e.id}/blocks?status=awaiting`)).body;
  await vote(e, 1);
  // ...while the page mines on the genesis tip.
  const { page, errors, submissions } = await openMiner(`/e/${e.id}/mine`, 2, 'e2e-restart');
  await page.getByText(/Mining block 1 with 2 votes/).or(page.locator('#found-list li')).first().waitFor();
  // The other block is appended: the tip moves under the page.
  for (const who of ['validator1', 'validator2']) {
    await decideWithCli(base, { election: e.id, block: theirs.hash, ...demoKey(dir, who) });
  }
  // The page notices within a poll, restarts on the new tip and mines block 2 on it.
  const second = page.locator('#found-list li[data-status="awaiting"]', { hasText: 'Block 2' });
  await second.waitFor({ timeout: 120_000 });
  const mined = (await call(`/elections/${e.id}/blocks/${await second.getAttribute('data-hash')}`)).body;
  assert.equal(mined.prev, theirs.hash, 'built on the new tip');
  assert.equal(mined.votes, 1, 'only the vote not yet in the chain');
  // Any block the page found on the old tip was submitted before the tip moved (and is
  // now marked stale), refused as stale if it arrived while the other block was being
  // appended (the server stores no block on an old tip), or discarded.
  assert.ok(submissions.every((s) => s === 202 || s === 409), `submissions: ${submissions}`);
  const fates = await page.locator('#found-list li').evaluateAll((lis) => lis.map((li) => li.dataset.status));
  assert.ok(fates.every((f) => ['awaiting', 'stale', 'discarded'].includes(f)), `fates: ${fates}`);
  await page.screenshot({ path: join(ARTIFACTS, 'miner-restarted.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
