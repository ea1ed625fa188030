// The validator's own copy of the chain, in their browser: kept in IndexedDB between
// visits, followed block by block, and the alarm when the served chain no longer holds
// it. And the page bundles: each page loads only the worker bundles it needs.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, SITE, api, apiSession, castBallot, decideWithCli, demoKey, demoPassword, launchBrowser, openElection, signIn, startServer, unlockKey } from './support.mjs';

let server;
let base;
let browser;
let dir;
let out = '';

async function stop() {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
}

/** The server again, on the same address (so the same origin, and the same IndexedDB). */
async function restart() {
  ({ child: server } = await startServer(dir, false, new URL(base).host));
}

/** The database as it is in `from`, with its WAL files or without (a stale WAL left in
 * `to` would otherwise be replayed over the copy). */
const files = ['e2e.db', 'e2e.db-wal', 'e2e.db-shm'];
function copyDb(from, to) {
  for (const f of files) {
    if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
    else rmSync(join(to, f), { force: true });
  }
}

before(async () => {
  assert.ok(BIN, 'BALLOTCHAIN_BIN must name the built binary');
  dir = mkdtempSync(join(tmpdir(), 'ballotchain-copies-'));
  ({ child: server, url: base, out } = await startServer(dir));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

/** Casts the voter's vote and mines it into an awaiting block; its hash. */
async function minedBlock(e, code) {
  const cast = await api(base, `/elections/${e.id}/votes`, { method: 'POST', body: { code, candidate_id: e.candidates[0] } });
  assert.equal(cast.status, 202, JSON.stringify(cast.body));
  execFileSync(BIN, ['mine', '--server', base, '--election', String(e.id), '--once', '--tag', 'e2e-copies']);
  const awaiting = (await api(base, `/elections/${e.id}/blocks?status=awaiting`)).body;
  return awaiting[awaiting.length - 1].hash;
}

async function appendedBlock(e, code) {
  const block = await minedBlock(e, code);
  for (const who of ['validator1', 'validator2']) {
    await decideWithCli(base, { election: e.id, block, ...demoKey(dir, who) });
  }
  return block;
}

test('a warm visit fetches only the new block, and a rollback raises the alarm and stops approving', async () => {
  const admin = await apiSession(base, 'admin', demoPassword(out, 'admin'));
  const e = await openElection(base, admin, { title: 'Copies', voters: 4 });
  await appendedBlock(e, e.codes[0]);

  const context = await browser.newContext();
  const page = await context.newPage();
  // What the page and its workers ask of the chain.
  const asked = [];
  context.on('request', (r) => {
    const path = new URL(r.url()).pathname + new URL(r.url()).search;
    if (path.startsWith(`/api/elections/${e.id}/`)) asked.push(path.slice(`/api/elections/${e.id}`.length));
  });
  // Each page of blocks as the workers read it (the compact encoding, ledger::encode_blocks):
  // how many blocks, and the first one's height (u32 count, then the first header:
  // u32 version, u64 election, u64 height).
  const chainAnswers = [];
  context.on('response', async (r) => {
    if (/\/chain\?since=/.test(r.url())) {
      assert.equal(r.headers()['content-type'], 'application/octet-stream');
      const page = await r.body();
      chainAnswers.push({ blocks: page.readUInt32LE(0), first: Number(page.readBigUInt64LE(16)) });
    }
  });
  const copy = page.locator(`li[data-copy="${e.id}"]`);
  const visit = async (state) => {
    asked.length = 0;
    chainAnswers.length = 0;
    await page.goto(`${base}/validator`);
    await page.locator(`li[data-copy="${e.id}"]:not([data-state="checking"])`).waitFor();
    assert.equal(await copy.getAttribute('data-state'), state, await copy.innerText());
  };
  await signIn(page, base, 'validator1', demoPassword(out, 'validator1'), /\/validator$/);

  // The first visit verifies the chain from its genesis block, a page of blocks at a time.
  await page.locator(`li[data-copy="${e.id}"][data-state="verified"]`).waitFor();
  assert.equal(await copy.getAttribute('data-height'), '1');
  assert.deepEqual(asked.filter((p) => /^\/(genesis|chain|export)/.test(p)), ['/genesis', '/chain?since=0&limit=10']);
  assert.match(await copy.innerText(), /verified from the genesis block on this visit \(1 block/);

  // Kept: a second visit with nothing new fetches no block at all.
  await visit('verified');
  assert.equal(await copy.getAttribute('data-fetched'), '0');
  assert.ok(!asked.some((p) => p.startsWith('/export') || p.startsWith('/chain')), asked.join(' '));
  assert.match(await copy.innerText(), /at the served head already/);

  // A backup of the server as it is now, with one block.
  const backup = mkdtempSync(join(tmpdir(), 'ballotchain-backup-'));
  await stop();
  copyDb(dir, backup);
  await restart();

  // A new block appended, and another awaiting: the warm visit fetches only the new
  // block, and checks the awaiting one against its copy.
  await appendedBlock(e, e.codes[1]);
  const awaiting = await minedBlock(e, e.codes[2]);
  await visit('verified');
  assert.equal(await copy.getAttribute('data-height'), '2');
  assert.equal(await copy.getAttribute('data-fetched'), '1');
  assert.ok(!asked.some((p) => p.startsWith('/export')), asked.join(' '));
  assert.deepEqual(asked.filter((p) => p.startsWith('/chain')), ['/chain?since=1&limit=10']);
  assert.deepEqual(chainAnswers, [{ blocks: 1, first: 2 }]);
  const card = page.locator(`article[data-block="${awaiting}"]`);
  await card.locator('.browser-check[data-verdict="passed"]').waitFor();
  assert.match(await card.locator('.browser-check').innerText(), /parent is the tip at height 2 of this browser's own copy/);
  await unlockKey(page, { key: demoKey(dir, 'validator1').key, passphrase: readFileSync(demoKey(dir, 'validator1').passphraseFile, 'utf8').trim() });
  assert.equal(await card.getByRole('button', { name: 'Approve' }).isDisabled(), false);

  // The operator restores the backup: block 2, which this browser verified, is gone.
  await stop();
  copyDb(backup, dir);
  await restart();
  const rival = await minedBlock(e, e.codes[3]);
  await visit('alarm');
  const alarm = copy.getByRole('alert');
  assert.match(await alarm.innerText(), /no longer holds block 2 \([0-9a-f]{64}\), which this copy holds: it ends at block 1; blocks were removed/);
  assert.match(await alarm.innerText(), /Approving is disabled/);
  // The block now awaiting at height 2 cannot be approved from this browser, key or not.
  const rivalCard = page.locator(`article[data-block="${rival}"]`);
  await rivalCard.locator('.browser-check[data-verdict="failed"]').waitFor();
  await unlockKey(page, { key: demoKey(dir, 'validator1').key, passphrase: readFileSync(demoKey(dir, 'validator1').passphraseFile, 'utf8').trim() });
  assert.equal(await rivalCard.getByRole('button', { name: 'Approve' }).isDisabled(), true);
  // The alarm stays on the next visit: the copy keeps the head it verified.
  await visit('alarm');

  // Once the validator chooses to, the copy starts again from the genesis block.
  await copy.getByRole('button', { name: "Forget this browser's copy" }).click();
  await page.locator(`li[data-copy="${e.id}"][data-state="verified"]`).waitFor();
  assert.equal(await copy.getAttribute('data-height'), '1');
  await context.close();
});

test('each page loads only the worker bundles it needs: the ballot page no validator code', async () => {
  const admin = await apiSession(base, 'admin', demoPassword(out, 'admin'));
  const e = await openElection(base, admin, { title: 'Bundles', voters: 1 });
  const context = await browser.newContext();
  const page = await context.newPage();
  const loaded = [];
  context.on('request', (r) => loaded.push(new URL(r.url()).pathname + new URL(r.url()).search));
  await page.goto(`${base}/e/${e.id}`);
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Your voting code').fill(e.codes[0]);
  await page.getByRole('radio', { name: /Ada Lovelace/ }).check();
  await page.getByRole('checkbox').check();
  await castBallot(page);
  await page.waitForURL(new RegExp(`/e/${e.id}/receipt/[0-9a-f]{64}$`));
  const bundles = loaded.filter((p) => p.startsWith('/workers/'));
  assert.deepEqual([...new Set(bundles)].sort(), ['/workers/ballot.js', '/workers/ballot_bg.wasm', '/workers/worker.js?bundle=ballot']);

  // The pages' own code is split by who visits them (`cargo leptos build --split`): the
  // ballot and receipt pages load the page bundle, the voter pages' module and only the
  // shared chunks that module needs; no other group's module, the validator's included.
  const manifest = JSON.parse(readFileSync(join(SITE, 'pkg/__wasm_split_manifest.json'), 'utf8'));
  const group = (name) => {
    const key = Object.keys(manifest).find((k) => k.startsWith(`${name}_`));
    assert.ok(key, `the split manifest has the ${name} module`);
    return new Set(manifest[key].map((m) => `/pkg/${m}.wasm`));
  };
  const voter = group('voter_pages');
  assert.ok([...voter].some((m) => m.startsWith('/pkg/split_voter_pages_')), 'the voter module is its own file');
  const modules = [...new Set(loaded.filter((p) => p.startsWith('/pkg/') && p.endsWith('.wasm')))];
  assert.ok(modules.includes('/pkg/ballotchain.wasm'), 'the page bundle is loaded');
  assert.ok(modules.some((m) => m.startsWith('/pkg/split_voter_pages_')), 'the voter pages module is loaded');
  for (const m of modules.filter((m) => m !== '/pkg/ballotchain.wasm')) {
    assert.ok(voter.has(m), `the ballot page loads only the voter pages' code, not ${m}`);
  }
  for (const other of ['validator_pages', 'officer_pages', 'trustee_pages', 'chain_pages', 'miner_pages']) {
    const own = [...group(other)].find((m) => m.startsWith(`/pkg/split_${other}_`));
    assert.ok(!modules.includes(own), `the ballot page does not load ${own}`);
  }
  await context.close();

  // What each bundle carries, by the words only its code uses: the page bundle that
  // every visitor downloads has none of the validator's check, the key files or the
  // code making.
  const text = (path) => readFileSync(join(SITE, path)).toString('latin1');
  const marks = {
    checker: 'not extended by the served chain',
    keys: 'wrong passphrase, or the key file was altered',
    codes: "the roll's header must name a 'name' column",
  };
  const page_ = text('pkg/ballotchain.wasm');
  for (const [bundle, mark] of Object.entries(marks)) {
    assert.ok(text(`workers/${bundle}_bg.wasm`).includes(mark), `${bundle} carries its own code`);
    assert.ok(!page_.includes(mark), `the page bundle carries the ${bundle} worker's code`);
    assert.ok(!text('workers/ballot_bg.wasm').includes(mark), `the ballot bundle carries the ${bundle} worker's code`);
  }
});
