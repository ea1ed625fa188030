// The pages in Debian's Chromium against the real server (started with its demo accounts).
// Each test sets up its own election through the JSON API, so none depends on another.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, BIN, api, apiSession, castBallot, decideWithCli, demoKey, demoPassword, launchBrowser, notice, openElection, signIn, startServer, trusteesReady, unlockKey, until } from './support.mjs';

let server;
let base;
let browser;
let dir;
let serverOut = '';

before(async () => {
  assert.ok(BIN, 'BALLOTCHAIN_BIN must name the built binary');
  dir = mkdtempSync(join(tmpdir(), 'ballotchain-e2e-'));
  ({ child: server, url: base, out: serverOut } = await startServer(dir));
  browser = await launchBrowser();
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
    assert.equal((await wasm).headers()['content-encoding'], 'gzip', 'and compressed');
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

/** This test's own open election (see support.mjs). */
async function election(title, voters) {
  const admin = await apiSession(base, 'admin', demoPassword(serverOut, 'admin'));
  return openElection(base, admin, { title, voters, candidates: ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'] });
}

async function voteCount(e) {
  return (await (await fetch(`${base}/api/elections/${e.id}`)).json()).votes;
}

test('a voter votes through the ballot page and gets a receipt, with and without JavaScript', async () => {
  const e = await election('Ballot page', 3);
  for (const [name, javaScriptEnabled, line] of [['js', true, 0], ['nojs', false, 1]]) {
    for (const [size, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 360, height: 740 }]]) {
      const context = await browser.newContext({ javaScriptEnabled, viewport });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // Every request body the page sends, to show where the code goes.
      const sent = [];
      page.on('request', (r) => { if (r.postData()) sent.push(r.postData()); });
      await page.goto(`${base}/e/${e.id}`);
      if (javaScriptEnabled) await page.waitForLoadState('networkidle');
      else assert.match(await page.locator('main').innerText(), /Without JavaScript your voting code and your choice are sent to the server/);
      await page.screenshot({ path: join(ARTIFACTS, `ballot-${name}-${size}.png`), fullPage: true });

      // A code of the right shape that is not registered changes nothing.
      const before = await voteCount(e);
      await page.getByLabel('Your voting code').fill('0000-0000-0000-0000-0000-0001');
      await page.getByRole('radio', { name: /Ada Lovelace/ }).check();
      await page.getByRole('checkbox').check();
      await castBallot(page);
      await notice(page, 'invalid_code');
      assert.match(await page.getByRole('alert').innerText(), /not valid for this election/);
      assert.equal(await voteCount(e), before);

      if (size === 'desktop') {
        await page.getByLabel('Your voting code').fill(e.codes[line]);
        await page.getByRole('radio', { name: /Ada Lovelace/ }).check();
        await page.getByRole('checkbox').check();
        await castBallot(page);
        await page.waitForURL(new RegExp(`/e/${e.id}/receipt/[0-9a-f]{64}$`));
        const card = page.locator('.receipt');
        assert.equal(await card.getAttribute('data-status'), 'pending');
        const receipt = page.url().split('/').pop();
        assert.equal(await page.getByLabel('Receipt').inputValue(), receipt);
        assert.equal(await voteCount(e), before + 1);
        await page.screenshot({ path: join(ARTIFACTS, `receipt-${name}-${size}.png`), fullPage: true });

        // The same code again (a voter whose first answer was lost, or who changed their
        // mind): nothing is added, and the page shows the receipt of the vote stored.
        await page.goto(`${base}/e/${e.id}`);
        await page.getByLabel('Your voting code').fill(e.codes[line]);
        await page.getByRole('radio', { name: /Grace Hopper/ }).check();
        await page.getByRole('checkbox').check();
        await castBallot(page);
        await page.waitForURL(`${base}/e/${e.id}/receipt/${receipt}?already=1`);
        assert.match(await page.getByRole('status').first().innerText(), /had voted already/);
        assert.equal(await page.getByLabel('Receipt').inputValue(), receipt);
        assert.equal(await voteCount(e), before + 1);
      }
      const codes = [e.codes[line], '0000-0000-0000-0000-0000-0001'];
      const leaked = sent.filter((body) => codes.some((c) => body.includes(c) || body.includes(c.replaceAll('-', ''))));
      if (javaScriptEnabled) {
        // Signed in the browser: the votes went out, the codes did not.
        assert.ok(sent.length >= 1, 'the signed votes were sent');
        assert.deepEqual(leaked, [], 'with JavaScript, no request carries a voting code');
      } else {
        assert.ok(leaked.length >= 1, 'without JavaScript the code is posted, as the page says');
      }
      assert.deepEqual(errors, []);
      await context.close();
    }
  }

  // Without the confirmation box (a browser enforces it; a raw post is refused too). The
  // ballot's action answers a post that asks for HTML, as a browser without JavaScript
  // does, with a redirect.
  const before = await voteCount(e);
  const html = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
  const r = await fetch(`${base}/sfn/vote`, {
    method: 'POST',
    redirect: 'manual',
    headers: html,
    body: new URLSearchParams({ election: String(e.id), code: e.codes[2], candidate_id: String(e.candidates[0]) }),
  });
  assert.equal(r.status, 302);
  assert.match(r.headers.get('location'), /error=unconfirmed/);
  const r2 = await fetch(`${base}/sfn/vote`, {
    method: 'POST',
    redirect: 'manual',
    headers: html,
    body: new URLSearchParams({ election: String(e.id), code: e.codes[2], confirm: 'yes' }),
  });
  assert.equal(r2.status, 302);
  assert.match(r2.headers.get('location'), /error=no_candidate/);
  assert.equal(await voteCount(e), before);
});

test('the ballot on a phone: a code that does not read is flagged before sealing, and a ballot whose module does not load falls back to the server form', async () => {
  const e = await election('Ballot on a phone', 3);
  const viewport = { width: 390, height: 844 };
  let context = await browser.newContext({ viewport });
  let page = await context.newPage();
  await page.goto(`${base}/e/${e.id}`);
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Your voting code').fill('not a code');
  await page.getByRole('radio', { name: /Ada Lovelace/ }).check();
  await page.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Seal my ballot' }).click();
  assert.match(await page.getByRole('alert').innerText(), /does not look like a voting code/);
  assert.equal(await page.locator('section.sealed').count(), 0, 'nothing is sealed');
  await context.close();

  // The ballot module blocked: the page says it is preparing, then offers the server's
  // form with the words a browser without JavaScript shows; a vote cast through it counts.
  context = await browser.newContext({ viewport });
  await context.route(/\.wasm$/, (route) => route.abort());
  page = await context.newPage();
  await page.goto(`${base}/e/${e.id}`);
  const preparing = page.locator('.preparing');
  assert.match(await preparing.getByRole('status').innerText(), /Preparing the secure ballot/);
  const late = preparing.locator('.late');
  assert.equal(await late.isVisible(), false, 'the fallback waits');
  await late.getByLabel('Your voting code').waitFor({ state: 'visible', timeout: 15_000 });
  assert.match(await late.innerText(), /Without JavaScript your voting code and your choice are sent to the server/);
  const before = await voteCount(e);
  await late.getByLabel('Your voting code').fill(e.codes[0]);
  await late.getByRole('radio', { name: /Grace Hopper/ }).check();
  await late.getByRole('checkbox').check();
  await late.getByRole('button', { name: 'Cast my vote' }).click();
  await page.waitForURL(new RegExp(`/e/${e.id}/receipt/[0-9a-f]{64}`));
  assert.equal(await voteCount(e), before + 1);
  await page.screenshot({ path: join(ARTIFACTS, 'ballot-fallback-phone.png'), fullPage: true });
  await context.close();
});

test('a vote mined and approved shows in the explorer, with and without JavaScript', async () => {
  const e = await election('Explorer', 1);
  const cast = await fetch(`${base}/api/elections/${e.id}/votes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: e.codes[0], candidate_id: e.candidates[1] }),
  });
  assert.equal(cast.status, 202);
  const { receipt } = await cast.json();
  execFileSync(BIN, ['mine', '--server', base, '--election', String(e.id), '--once', '--tag', 'e2e-miner']);
  const awaiting = await (await fetch(`${base}/api/elections/${e.id}/blocks?status=awaiting`)).json();
  assert.equal(awaiting.length, 1);
  // The voter's receipt page, open on a phone while the validators decide, follows the
  // election: it turns "appended" without a reload.
  const watcher = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await watcher.goto(`${base}/e/${e.id}/receipt/${receipt}`);
  await watcher.locator('html[data-live="open"]').waitFor();
  assert.equal(await watcher.locator('.receipt').getAttribute('data-status'), 'awaiting_approval');
  await watcher.evaluate(() => { window.stayed = true; });
  for (const v of ['validator1', 'validator2']) {
    await decideWithCli(base, { election: e.id, block: awaiting[0].hash, ...demoKey(dir, v) });
  }
  await watcher.locator('.receipt[data-status="appended"]').waitFor({ timeout: 15_000 });
  assert.equal(await watcher.evaluate(() => window.stayed), true, 'the page was not reloaded');
  await watcher.getByRole('heading', { name: 'Your vote is recorded on the chain' }).waitFor();
  await watcher.context().close();

  for (const [name, javaScriptEnabled] of [['js', true], ['nojs', false]]) {
    for (const [size, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 360, height: 740 }]]) {
      const context = await browser.newContext({ javaScriptEnabled, viewport });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/e/${e.id}/chain`);
      await page.locator('.block-list a', { hasText: 'Block 1' }).waitFor();
      assert.match(await page.locator('.block-list').innerText(), /mined by e2e-miner/);
      // Turnout only: every ballot is encrypted, and the result waits for the trustees.
      assert.equal(await page.locator('.turnout').getAttribute('data-turnout'), '1');
      assert.equal(await page.locator('.tally').count(), 0);
      // The explorer follows the election: its event stream stays open, so the network
      // never goes quiet; the page says when it is live.
      if (javaScriptEnabled) await page.locator('html[data-live="open"]').waitFor();
      await page.screenshot({ path: join(ARTIFACTS, `explorer-${name}-${size}.png`), fullPage: true });

      await page.getByRole('textbox', { name: 'Receipt' }).fill(receipt);
      await page.getByRole('button', { name: 'Look up' }).click();
      const card = page.locator('.receipt');
      await card.waitFor();
      assert.equal(await card.getAttribute('data-status'), 'appended');
      assert.match(await card.innerText(), /Appended to the chain in block 1/);

      // Anyone sees who the validators are and their keys' fingerprints.
      const listed = page.locator('.validators li[data-validator="validator1"]');
      assert.match(await listed.innerText(), /key [0-9a-f]{4}( [0-9a-f]{4}){3} \(in the genesis block\)/);

      await card.getByRole('link', { name: 'See the block' }).click();
      await page.locator('h1', { hasText: 'Block 1' }).waitFor();
      const text = await page.locator('main').innerText();
      assert.match(text, /appended · 2 of 2 approvals/);
      assert.match(text, /validator1 approved, signature [0-9a-f]+ · key [0-9a-f]{4}( [0-9a-f]{4}){3}/);
      assert.match(text, /e2e-miner/);
      assert.match(text, new RegExp(receipt));
      await page.screenshot({ path: join(ARTIFACTS, `block-${name}-${size}.png`), fullPage: true });
      assert.deepEqual(errors, []);
      await context.close();
    }
  }

  const page = await browser.newPage();
  await page.goto(`${base}/e/${e.id}/chain?receipt=not-a-receipt`);
  assert.match(await page.locator('[role=alert]').innerText(), /64 hexadecimal digits/);
  await page.goto(`${base}/e/999/chain`);
  assert.match(await page.locator('main .error').innerText(), /not found/);
  await page.close();
});

test('two validators approve a block in their dashboards with their own keys; forged decisions change nothing', async () => {
  const e = await election('Dashboard', 1);
  const cast = await fetch(`${base}/api/elections/${e.id}/votes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: e.codes[0], candidate_id: e.candidates[2] }),
  });
  assert.equal(cast.status, 202);
  execFileSync(BIN, ['mine', '--server', base, '--election', String(e.id), '--once', '--tag', 'e2e-dash']);
  const [block] = await (await fetch(`${base}/api/elections/${e.id}/blocks?status=awaiting`)).json();
  const password = (who) => serverOut.match(new RegExp(`${who} / (\\S+)`))[1];
  const approvals = async () => (await (await fetch(`${base}/api/elections/${e.id}/blocks/${block.hash}`)).json()).approvals;

  // Nobody signed in, and an admin, are both turned away from the dashboard.
  const anon = await browser.newPage();
  await anon.goto(`${base}/validator`);
  assert.match(await anon.getByRole('alert').innerText(), /Sign in as a validator/);
  await anon.goto(`${base}/login`);
  await anon.getByLabel('Username').fill('admin');
  await anon.getByLabel('Password').fill('wrong password!');
  await anon.getByRole('button', { name: 'Sign in' }).click();
  await notice(anon, 'bad_credentials');
  assert.match(await anon.getByRole('alert').innerText(), /Wrong username or password/);
  await anon.getByLabel('Username').fill('admin');
  await anon.getByLabel('Password').fill(password('admin'));
  await anon.getByRole('button', { name: 'Sign in' }).click();
  await anon.waitForURL(`${base}/admin`);
  await anon.goto(`${base}/validator`);
  assert.match(await anon.getByRole('alert').innerText(), /for validators/);
  await anon.close();

  // Forged decisions through the API: unsigned, by a key the genesis does not list, and
  // with validator1's key but a signature that is not theirs. None counts.
  const v1 = JSON.parse(readFileSync(demoKey(dir, 'validator1').key, 'utf8')).public_key;
  const decision = (body) => api(base, `/elections/${e.id}/blocks/${block.hash}/approve`, { method: 'POST', body });
  assert.equal((await decision({ validator: v1 })).status, 400);
  const stranger = await decision({ validator: 'ab'.repeat(32), signature: 'cd'.repeat(64) });
  assert.deepEqual([stranger.status, stranger.body.error], [403, 'forbidden']);
  const forged = await decision({ validator: v1, signature: 'cd'.repeat(64) });
  assert.deepEqual([forged.status, forged.body.error], [422, 'bad_signature']);
  assert.equal(await approvals(), 0);

  for (const [i, who] of ['validator1', 'validator2'].entries()) {
    const viewport = i === 0 ? { width: 1280, height: 900 } : { width: 360, height: 740 };
    const { key, passphraseFile } = demoKey(dir, who);
    const passphrase = readFileSync(passphraseFile, 'utf8').trim();
    if (i === 1) {
      // Without JavaScript the browser can neither check the block nor sign: no Approve,
      // and the page points to the command line.
      const nojs = await browser.newContext({ javaScriptEnabled: false, viewport });
      const p = await nojs.newPage();
      await signIn(p, base, who, password(who), /\/validator$/);
      const c = p.locator(`article[data-block="${block.hash}"]`);
      assert.equal(await c.getByRole('button', { name: 'Approve' }).isDisabled(), true);
      assert.match(await c.locator('.browser-check').innerText(), /needs JavaScript/);
      assert.match(await p.locator('.key-panel').innerText(), /ballotchain approve --server/);
      await nojs.close();
    }
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await signIn(page, base, who, password(who), /\/validator$/);
    const card = page.locator(`article[data-block="${block.hash}"]`);
    await card.waitFor();
    // The dashboard re-verified the chain and the block in this browser (WebAssembly).
    await card.locator('.browser-check[data-verdict="passed"]').waitFor();
    assert.match(await card.locator('.browser-check').innerText(), /passed: every rule holds: 1 vote/);
    const rows = card.locator('table.checks tbody tr');
    assert.equal(await rows.count(), 16);
    assert.equal(await card.locator('tr.fail').count(), 0);
    assert.match(await card.innerText(), new RegExp(`${i} of 2 approvals`));
    // Nothing can be signed before the key is unlocked.
    assert.equal(await card.getByRole('button', { name: 'Approve' }).isDisabled(), true);
    if (i === 0) {
      // A wrong passphrase is refused in words and unlocks nothing.
      await page.locator('#key-file').setInputFiles(key);
      await page.getByLabel('Key file passphrase').fill('not the passphrase');
      await page.getByRole('button', { name: 'Unlock my key' }).click();
      assert.match(await page.locator('.key-panel [role=alert]').innerText(), /wrong passphrase/);
      assert.equal(await card.getByRole('button', { name: 'Approve' }).isDisabled(), true);
    }
    await unlockKey(page, { key, passphrase });
    await page.screenshot({ path: join(ARTIFACTS, `validator-${who}.png`), fullPage: true });
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: /Approved block 1/ }).waitFor();
    await page.locator('.history', { hasText: 'approved' }).waitFor();
    assert.equal(await approvals(), i + 1);
    await context.close();
  }
  const done = await (await fetch(`${base}/api/elections/${e.id}/blocks/${block.hash}`)).json();
  assert.equal(done.status, 'appended');
  assert.equal(done.approvals, 2);
});

test('the first-run link creates the first admin in the browser', async () => {
  const fresh = await startServer(mkdtempSync(join(tmpdir(), 'ballotchain-e2e-fresh-')), false);
  try {
    const link = fresh.out.match(/(http:\/\/\S+\/setup\?token=[0-9a-f]+)/)[1];
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
    await page.goto(link);
    await page.getByLabel('Username').fill('chief');
    await page.getByLabel(/Password/).fill('a long enough password');
    await page.screenshot({ path: join(ARTIFACTS, 'setup-phone.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create admin account' }).click();
    await page.waitForURL(`${fresh.url}/admin`);
    await page.close();
    // Used once, the link refuses anyone else, JavaScript or not.
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled });
      const again = await context.newPage();
      await again.goto(link);
      await again.getByLabel('Username').fill('intruder');
      await again.getByLabel(/Password/).fill('another long password');
      await again.getByRole('button', { name: 'Create admin account' }).click();
      await notice(again, 'invalid_token');
      assert.match(await again.getByRole('alert').innerText(), /works once/);
      await context.close();
    }
  } finally {
    fresh.child.kill('SIGTERM');
  }
});

test('an officer sets up an election in the browser: ballot, voters by hand and by CSV, validators, open', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const admin = serverOut.match(/admin \/ (\S+)/)[1];
  await page.goto(`${base}/admin`);
  assert.match(await page.getByRole('alert').innerText(), /Sign in as an election officer/);
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(admin);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/admin`);

  await page.getByLabel('Title').fill('Board 2026');
  await page.getByLabel(/difficulty/).fill('8');
  await page.getByRole('button', { name: 'Create election' }).click();
  await page.waitForURL(/\/admin\/e\/\d+/);
  await notice(page, 'created');
  const id = page.url().match(/\/admin\/e\/(\d+)/)[1];
  const count = async (what) => (await (await fetch(`${base}/api/elections/${id}`)).json())[what];
  // An empty election: the checklist names every missing step, and sealing is not offered.
  const step = (key) => page.locator(`.checklist li[data-step="${key}"]`);
  assert.equal(await step('ballot').getAttribute('data-done'), 'false');
  assert.match(await step('ballot').innerText(), /no candidate yet; add at least two/);
  assert.match(await step('validators').innerText(), /0 enrolled for a quorum of 2; enrol 2 more/);
  assert.match(await step('trustees').innerText(), /none invited yet/);
  assert.equal(await page.getByRole('button', { name: 'Seal the genesis block and open voting' }).count(), 0);
  await page.locator('[data-seal="waiting"]').waitFor();
  // The outcome is said once: the address forgets it, so a reload does not repeat it.
  await until(() => !page.url().includes('done='), 5_000, 'the address to forget the outcome');
  await page.reload();
  assert.equal(await page.locator('[data-notice]').count(), 0);

  for (const name of ['Ada', 'Grace']) {
    await page.getByLabel('Candidate name').fill(name);
    await page.getByRole('button', { name: 'Add candidate' }).click();
    await until(async () => (await count('candidates')).some((c) => c.name === name), 10_000, `${name} on the ballot`);
  }
  await notice(page, 'candidate_added');
  // Edit and remove while in set-up.
  await page.getByLabel('Candidate name').fill('Zed');
  await page.getByRole('button', { name: 'Add candidate' }).click();
  await until(async () => (await count('candidates')).some((c) => c.name === 'Zed'), 10_000, 'Zed on the ballot');
  const zed = page.locator('form', { has: page.locator('input[value="Zed"]') });
  await zed.locator('input[name="name"]').fill('Zed Jones');
  await zed.getByRole('button', { name: 'Save' }).click();
  await notice(page, 'candidate_saved');
  assert.ok((await count('candidates')).some((c) => c.name === 'Zed Jones'));
  await page.locator('form', { has: page.locator('input[value="Zed Jones"]') }).getByRole('button', { name: 'Remove' }).click();
  await notice(page, 'candidate_removed');
  assert.deepEqual((await count('candidates')).map((c) => c.name), ['Ada', 'Grace']);

  // Bad input through the forms: a duplicate and a blank name are refused, nothing added.
  await page.getByLabel('Candidate name').fill('Ada');
  await page.getByRole('button', { name: 'Add candidate' }).click();
  await notice(page, 'duplicate');
  assert.match(await page.getByRole('alert').innerText(), /already taken/);
  await page.getByLabel('Candidate name').fill('   ');
  await page.getByRole('button', { name: 'Add candidate' }).click();
  await notice(page, 'invalid_input');
  assert.equal((await count('candidates')).length, 2);

  // Codes are made in this browser: the page offers the codes sheet, and only once it is
  // downloaded the registration, which carries names, external ids and keys, no code.
  const posted = [];
  page.on('request', (r) => { if (r.method() !== 'GET' && r.postData()) posted.push(r.postData()); });
  const makeCodes = async (expected) => {
    await page.getByRole('button', { name: 'Make codes' }).click();
    await page.getByText(new RegExp(`${expected} code\\(s\\) made`)).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Register these voters' }).count(), 0, 'no registration before the download');
    const [sheet] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the codes sheet' }).click(),
    ]);
    const path = join(dir, `sheet-${expected}.csv`);
    await sheet.saveAs(path);
    const rows = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'name,external_id,code');
    await page.getByRole('button', { name: 'Register these voters' }).click();
    await page.getByText(new RegExp(`${expected} voter\\(s\\) registered`)).waitFor();
    return rows.slice(1).map((r) => r.split(',')[2]);
  };
  await page.getByLabel(/Or type voters/).fill('Alice Example, R-001');
  const [aliceCode] = await makeCodes(1);
  assert.match(aliceCode, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/);
  await until(async () => (await count('voters')) === 1, 10_000, 'the page to register Alice');

  // A keys file with bad rows: each is listed with its line, and nothing is registered.
  await page.setInputFiles('#keys-file', { name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(`name,external_id,public_key\nBob,R-002,not-a-key\n,R-003,${'ab'.repeat(32)}\nCarol,R-001,${'cd'.repeat(32)}\n`) });
  await page.getByRole('button', { name: 'Upload keys file' }).click();
  await page.locator('h1', { hasText: 'Nothing was registered' }).waitFor();
  const problems = await page.locator('.problems').innerText();
  assert.match(problems, /line 2: the public key is not 64 hex digits/);
  assert.match(problems, /line 3: the name is empty/);
  assert.match(problems, /line 4: external id "R-001" is already registered/);
  assert.equal(await count('voters'), 1);
  await page.getByRole('link', { name: 'Back to the election' }).click();

  // A roll of 300 from a file.
  const rows = Array.from({ length: 300 }, (_, i) => `Voter ${i},X-${i}`).join('\n');
  await page.setInputFiles('#roll-file', { name: 'roll.csv', mimeType: 'text/csv', buffer: Buffer.from(`name,external_id\n${rows}\n`) });
  const codes300 = await makeCodes(300);
  assert.equal(codes300.length, 300);
  await until(async () => (await count('voters')) === 301, 10_000, 'the page to register the roll');
  const leaked = posted.filter((body) => [aliceCode, ...codes300].some((c) => body.includes(c)));
  assert.deepEqual(leaked, [], 'no request carried a voting code');
  await page.screenshot({ path: join(ARTIFACTS, 'admin-roll.png') });

  // Corrections before sealing: one voter off the roll, a new code for another.
  await page.goto(`${base}/admin/e/${id}`);
  const openRoll = () => page.locator('details.roll-list').evaluate((d) => { d.open = true; });
  await openRoll();
  await page.getByRole('button', { name: 'Remove Voter 0', exact: true }).click();
  await notice(page, 'voter_removed');
  assert.equal(await count('voters'), 300);
  await openRoll();
  await page.getByRole('button', { name: 'New code for Voter 1', exact: true }).click();
  const newCode = (await page.getByText(/New code for Voter 1 \(#\d+\): /).innerText()).match(/[0-9A-Z]{4}(-[0-9A-Z]{4}){5}/)[0];
  assert.notEqual(newCode, codes300[1]);


  // The ballot and the roll are done; the checklist still waits for the validators.
  assert.equal(await step('ballot').getAttribute('data-done'), 'true');
  assert.match(await step('roll').innerText(), /Roll: 300 voters registered/);
  assert.equal(await step('validators').getAttribute('data-done'), 'false');
  assert.equal(await page.getByRole('button', { name: 'Seal the genesis block and open voting' }).count(), 0);

  // A new validator is invited from the election's page: the officer gets a one-time
  // link, and a way back to the election...
  await page.getByLabel('Invite a validator (their username)').fill('officer.val');
  await page.getByRole('button', { name: 'Create invitation link' }).click();
  await page.locator('h1', { hasText: 'Invitation for officer.val' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Back to the election' }).getAttribute('href'), `/admin/e/${id}`);
  const link = await page.getByLabel('Invitation link').inputValue();
  assert.match(link, /\/invite\/[0-9a-f]{64}$/);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-invitation.png') });

  // ...with which they choose a password, make their key in their browser and download
  // the key file. Only the public key and a proof of possession reach the server.
  const valPassword = 'validator password 9';
  const passphrase = 'my own key passphrase';
  const keyPath = join(dir, 'officer-val.key');
  const invitee = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
  const ip = await invitee.newPage();
  const sent = [];
  ip.on('request', (r) => { if (r.method() === 'POST') sent.push(r.postData() ?? ''); });
  await ip.goto(link);
  await ip.locator('h1', { hasText: 'Welcome, officer.val' }).waitFor();
  await ip.getByLabel('Sign-in password (at least 12 characters)').fill(valPassword);
  await ip.getByLabel('The same password again').fill(valPassword);
  await ip.getByLabel(/^Key file passphrase/).fill(passphrase);
  await ip.getByLabel('The same passphrase again').fill(passphrase);
  const create = ip.getByRole('button', { name: 'Create my account' });
  await ip.getByRole('button', { name: 'Make my key' }).click();
  await ip.getByText(/Your key is ready. Fingerprint: [0-9a-f]{4}/).waitFor();
  // The account is offered only once the key file is downloaded.
  assert.equal(await create.isDisabled(), true);
  const [download] = await Promise.all([
    ip.waitForEvent('download'),
    ip.getByRole('link', { name: 'Download your key file' }).click(),
  ]);
  await download.saveAs(keyPath);
  const keyFile = JSON.parse(readFileSync(keyPath, 'utf8'));
  assert.equal(keyFile.format, 'ballotchain-key');
  assert.equal(keyFile.kdf.algorithm, 'argon2id');
  await ip.screenshot({ path: join(ARTIFACTS, 'invitation-validator.png'), fullPage: true });
  await create.click();
  await ip.getByText(/Your account is ready/).waitFor();
  assert.equal(sent.length, 1, 'one request: the acceptance');
  const accepted = JSON.parse(sent[0]);
  assert.deepEqual(Object.keys(accepted.key).sort(), ['proof', 'public_key']);
  assert.equal(accepted.key.public_key, keyFile.public_key);
  assert.ok(!sent[0].includes(keyFile.sealed_seed), 'the sealed key file is not sent');
  // The link works once.
  await ip.goto(link);
  assert.match(await ip.getByRole('alert').innerText(), /used already/);
  await invitee.close();

  // The officer enrols both validators and seals the genesis block.
  await page.goto(`${base}/admin/e/${id}`);
  for (const who of ['validator1', 'officer.val']) {
    await page.getByLabel('Enrol a validator').selectOption(who);
    await page.getByRole('button', { name: 'Enrol', exact: true }).click();
    // The URL says done after the first one already: wait for this one in the data.
    await until(async () => (await count('validators')).includes(who), 10_000, `${who} to be enrolled`);
  }
  await notice(page, 'validator_enrolled');
  assert.deepEqual((await count('validators')).sort(), ['officer.val', 'validator1']);
  const rollHash = await page.locator('p.roll').getAttribute('data-roll');
  // Sealing waits for the trustees' key ceremony, which a trustee runs from the CLI: the
  // checklist says so, and offers sealing once it is complete.
  await page.goto(`${base}/admin/e/${id}`);
  assert.equal(await step('validators').getAttribute('data-done'), 'true');
  assert.equal(await step('ceremony').getAttribute('data-done'), 'false');
  assert.equal(await page.getByRole('button', { name: 'Seal the genesis block and open voting' }).count(), 0);
  await trusteesReady(base, await apiSession(base, 'admin', admin), id);
  await page.goto(`${base}/admin/e/${id}`);
  assert.equal(await page.locator('.checklist li[data-done="false"]').count(), 0);
  await page.getByRole('button', { name: 'Seal the genesis block and open voting' }).click();
  await notice(page, 'opened');
  assert.equal(await count('state'), 'open');
  // Anyone sees the same roll in the genesis block; the lost code no longer votes, its
  // replacement does.
  const chainPage = await browser.newPage();
  await chainPage.goto(`${base}/e/${id}/chain`);
  assert.equal(await chainPage.locator('dd[data-roll]').getAttribute('data-roll'), rollHash);
  await chainPage.close();
  const ballot = async (code) => (await api(base, `/elections/${id}/votes`, { method: 'POST', body: { code, candidate_id: (await count('candidates'))[0].id } }));
  assert.equal((await ballot(codes300[1])).status, 403);
  assert.equal((await ballot(newCode)).status, 202);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-election.png'), fullPage: true });

  // The code shown once really votes.
  await page.goto(`${base}/e/${id}`);
  await page.getByLabel('Your voting code').fill(aliceCode);
  await page.getByRole('radio', { name: /Grace/ }).check();
  await page.getByRole('checkbox').check();
  await castBallot(page);
  await page.waitForURL(new RegExp(`/e/${id}/receipt/[0-9a-f]{64}$`));
  const receiptUrl = page.url();

  // Mined with the CLI miner. The new validator approves in a fresh browser profile, from
  // the downloaded key file; validator1 approves the same block from the command line.
  execFileSync(BIN, ['mine', '--server', base, '--election', id, '--once', '--tag', 'board-miner']);
  const [mined] = await (await fetch(`${base}/api/elections/${id}/blocks?status=awaiting`)).json();
  const fresh = await launchBrowser();
  try {
    const vp = await fresh.newPage();
    await signIn(vp, base, 'officer.val', valPassword, /\/validator$/);
    await unlockKey(vp, { key: keyPath, passphrase });
    const card = vp.locator('article', { hasText: 'Board 2026' });
    await card.locator('.browser-check[data-verdict="passed"]').waitFor();
    await card.getByRole('button', { name: 'Approve' }).click();
    await vp.getByRole('status').filter({ hasText: /Approved block 1: awaiting/ }).waitFor();
  } finally {
    await fresh.close();
  }
  const said = await decideWithCli(base, { election: id, block: mined.hash, ...demoKey(dir, 'validator1') });
  assert.match(said, /appended to the chain \(2 approval/);
  await page.goto(`${base}/e/${id}/chain`);
  assert.match(await page.locator('.block-list').innerText(), /Block 1[\s\S]*mined by board-miner/);
  // Both of this election's votes (the replaced code's and the by-hand voter's) are in block 1.
  assert.equal(await page.locator('.turnout').getAttribute('data-turnout'), '2');
  await page.goto(receiptUrl);
  assert.equal(await page.locator('.receipt').getAttribute('data-status'), 'appended');

  // Closing voting: the ballot says so and refuses votes.
  await page.goto(`${base}/admin/e/${id}`);
  await page.getByRole('button', { name: 'Close voting' }).click();
  await notice(page, 'closed');
  await page.goto(`${base}/e/${id}`);
  assert.match(await page.getByRole('status').innerText(), /Voting has closed/);

  // Every page at desktop and phone width, for a person to look at.
  for (const [size, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 360, height: 740 }]]) {
    const ctx = await browser.newContext({ viewport });
    const p = await ctx.newPage();
    await p.goto(`${base}/login`);
    await p.screenshot({ path: join(ARTIFACTS, `login-${size}.png`), fullPage: true });
    await p.getByLabel('Username').fill('admin');
    await p.getByLabel('Password').fill(admin);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${base}/admin`);
    await p.screenshot({ path: join(ARTIFACTS, `admin-${size}.png`), fullPage: true });
    await p.goto(`${base}/admin/e/${id}`);
    await p.screenshot({ path: join(ARTIFACTS, `admin-election-${size}.png`), fullPage: true });
    await p.goto(receiptUrl);
    await p.screenshot({ path: join(ARTIFACTS, `receipt-appended-${size}.png`), fullPage: true });
    await ctx.close();
  }

  // A validator is not an officer.
  const v = await browser.newPage();
  await v.goto(`${base}/login`);
  await v.getByLabel('Username').fill('officer.val');
  await v.getByLabel('Password').fill('validator password 9');
  await v.getByRole('button', { name: 'Sign in' }).click();
  await v.waitForURL(/\/validator$/);
  await v.goto(`${base}/admin/e/${id}`);
  assert.match(await v.getByRole('alert').innerText(), /for election officers/);
  await v.close();
  await page.close();
});

test('every form refuses bad input with its reason, JavaScript off', async () => {
  const e = await election('Bad input', 1);
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  /** Sends the form the button belongs to and expects `error` in the URL and `words` in the alert. */
  const refused = async (button, error, words) => {
    await page.getByRole('button', { name: button, exact: true }).first().click();
    await page.waitForURL(new RegExp(`error=${error}`));
    assert.match(await page.getByRole('alert').first().innerText(), words, `${button} → ${error}`);
  };

  // The ballot: a code of the wrong shape.
  await page.goto(`${base}/e/${e.id}`);
  await page.getByLabel('Your voting code').fill('not a code');
  await page.getByRole('radio', { name: /Ada Lovelace/ }).check();
  await page.getByRole('checkbox').check();
  await refused('Cast my vote', 'malformed_code', /does not look like a voting code/);

  // Sign-in: a wrong password.
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await refused('Sign in', 'bad_credentials', /Wrong username or password/);

  // The office: a blank title, a name already on the ballot, a username with a space,
  // and an election not ready to seal.
  await signIn(page, base, 'admin', demoPassword(serverOut, 'admin'), `${base}/admin`);
  await page.getByLabel('Title').fill('   ');
  await refused('Create election', 'invalid_input', /titles cannot be empty/);
  await page.getByLabel('Their username').fill('no spaces');
  await refused('Create invitation link', 'invalid_input', /usernames have 3 to 40/);
  await page.getByLabel('Their username').fill('admin');
  await refused('Create invitation link', 'duplicate', /already taken/);
  await page.getByLabel('Title').fill('Refusals');
  await page.getByRole('button', { name: 'Create election' }).click();
  await page.waitForURL(/\/admin\/e\/\d+\?done=created/);
  await page.getByLabel('Candidate name').fill('Ada');
  await page.getByRole('button', { name: 'Add candidate' }).click();
  await page.waitForURL(/done=candidate_added/);
  await page.getByLabel('Candidate name').fill('Ada');
  await refused('Add candidate', 'duplicate', /already taken/);
  // Sealing is not offered while the genesis block lacks what it needs: the checklist
  // says what, without JavaScript too.
  assert.equal(await page.getByRole('button', { name: 'Seal the genesis block and open voting' }).count(), 0);
  assert.match(await page.locator('.checklist li[data-step="ballot"]').innerText(), /one candidate; add at least one more/);
  await page.locator('[data-seal="waiting"]').waitFor();

  // The account page (linked beside "Sign out"): a wrong current password changes nothing.
  await page.goto(`${base}/admin`);
  await page.getByRole('link', { name: 'Change password' }).click();
  await page.waitForURL(`${base}/account`);
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel(/New password/).fill('a brand new passphrase');
  await refused('Change password', 'bad_credentials', /Wrong username or password/);

  // An officer's invitation: two different passwords are refused, the right ones create
  // the account, and the used link refuses anyone after.
  const adminCookie = await apiSession(base, 'admin', demoPassword(serverOut, 'admin'));
  const invited = await api(base, '/invitations', { method: 'POST', cookie: adminCookie, body: { username: 'clerk.nojs', role: 'admin' } });
  assert.equal(invited.status, 201);
  await context.clearCookies();
  await page.goto(`${base}${invited.body.path}`);
  await page.getByLabel(/^Password/).fill('a long enough password');
  await page.getByLabel('The same password again').fill('another long password');
  await refused('Create my account', 'password_mismatch', /differ/);
  await page.getByLabel(/^Password/).fill('a long enough password');
  await page.getByLabel('The same password again').fill('a long enough password');
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.waitForURL(/\/login\?done=account_created/);
  await page.goto(`${base}${invited.body.path}`);
  assert.match(await page.getByRole('alert').innerText(), /used already/);
  await signIn(page, base, 'clerk.nojs', 'a long enough password', `${base}/admin`);

  // A validator's invitation needs JavaScript or the command line: the page says how,
  // and offers nothing to send.
  const val = await api(base, '/invitations', { method: 'POST', cookie: adminCookie, body: { username: 'val.nojs', role: 'validator' } });
  await page.goto(`${base}${val.body.path}`);
  assert.match(await page.locator('main').innerText(), /ballotchain accept --server/);
  assert.equal(await page.getByRole('button', { name: 'Create my account' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Make my key' }).isDisabled(), true);

  // The dashboard without JavaScript cannot sign: Approve and Reject are not offered.
  await fetch(`${base}/api/elections/${e.id}/votes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: e.codes[0], candidate_id: e.candidates[0] }),
  });
  execFileSync(BIN, ['mine', '--server', base, '--election', String(e.id), '--once', '--tag', 'nojs']);
  const [block] = await (await fetch(`${base}/api/elections/${e.id}/blocks?status=awaiting`)).json();
  await context.clearCookies();
  await signIn(page, base, 'validator1', demoPassword(serverOut, 'validator1'), /\/validator$/);
  const card = page.locator(`article[data-block="${block.hash}"]`);
  assert.equal(await card.getByRole('button', { name: 'Reject' }).isDisabled(), true);
  assert.equal(await card.getByRole('button', { name: 'Approve' }).isDisabled(), true);
  const after = await (await fetch(`${base}/api/elections/${e.id}/blocks/${block.hash}`)).json();
  assert.equal(after.rejections, 0);
  await context.close();
});

test('the explorer shows the head to pin, and this browser warns when the chain no longer holds the head it saw', async () => {
  const e = await election('Pinned heads', 1);
  const head = await (await fetch(`${base}/api/elections/${e.id}/head`)).json();
  const context = await browser.newContext();
  const page = await context.newPage();
  const key = `ballotchain.head.${e.id}`;
  await page.goto(`${base}/e/${e.id}/chain`);
  assert.equal(await page.inputValue('#head-pin'), `${head.height}:${head.hash}`);
  assert.match(await page.inputValue('#head-check'), new RegExp(`ballotchain verify http://\\S+/api/elections/${e.id}/export --genesis [0-9a-f]{64} --expect ${head.height}:${head.hash}`));
  // Once hydrated, the browser keeps the head it saw, and there is nothing to warn of.
  await until(async () => (await page.evaluate((k) => localStorage.getItem(k), key)) === `${head.height}:${head.hash}`, 10_000, 'the head remembered');
  assert.equal(await page.locator('#head-h ~ [role=alert]').count(), 0);
  // A head this chain does not hold (as after a rollback or a rewrite): a warning, and
  // the old head is kept.
  for (const seen of [`${head.height + 3}:${'ab'.repeat(32)}`, `${head.height}:${'cd'.repeat(32)}`]) {
    await page.evaluate(([k, v]) => localStorage.setItem(k, v), [key, seen]);
    await page.reload();
    const alert = page.locator('#head-h ~ [role=alert]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /no longer holds block/);
    assert.equal(await page.evaluate((k) => localStorage.getItem(k), key), seen);
  }
  await context.close();
});
