// A whole secret-ballot election through the pages, nobody using the command line: the
// officer seats three trustees, who enrol with keys made in WebAssembly in their own
// browser profiles and run the key ceremony on its page (any two of three to decrypt);
// voters vote on the ballot page with JavaScript (sealed in their browser, one audited
// first and checked elsewhere) and without it (encrypted by the server); a volunteer mines in the browser; two validators approve
// in their dashboards; the officer closes and finalises; two trustees post their shares
// from their browsers' own verified copies while the third stays away; the explorer
// shows the result, and `ballotchain verify` re-checks the export.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, api, apiSession, castBallot, cli, demoKey, demoPassword, launchBrowser, registerVoters, signIn, startServer, unlockKey, until } from './support.mjs';

let server;
let base;
let browser;
let out = '';
let dir;

before(async () => {
  assert.ok(BIN, 'BALLOTCHAIN_BIN must name the built binary');
  dir = mkdtempSync(join(tmpdir(), 'ballotchain-trustees-'));
  ({ child: server, url: base, out } = await startServer(dir));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

const PASSPHRASES = ['passphrase of Ada L.', 'passphrase of Grace H.', 'passphrase of Alan T.'];

test('a whole election through the pages: trustees in their browsers, votes with and without JavaScript, browser mining, dashboards, and a tally with one trustee away', async () => {
  const admin = await apiSession(base, 'admin', demoPassword(out, 'admin'));
  const call = async (path, body, expected) => {
    const r = await api(base, path, { method: 'POST', cookie: admin, body });
    assert.equal(r.status, expected, `${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const { id } = await call('/elections', { title: 'Trustees in browsers', difficulty_bits: 8, quorum: 2 }, 201);
  const candidateIds = [];
  for (const name of ['Ada Lovelace', 'Grace Hopper']) candidateIds.push((await call(`/elections/${id}/candidates`, { name }, 201)).id);
  const { codes } = await registerVoters(base, admin, id, 3);
  for (const username of ['validator1', 'validator2']) await call(`/elections/${id}/validators`, { username }, 201);

  // The officer seats the trustees on the election's page; each link is shown once.
  const office = await (await browser.newContext()).newPage();
  await signIn(office, base, 'admin', demoPassword(out, 'admin'), /\/admin$/);
  const officePage = `${base}/admin/e/${id}`;
  const seat = async (name, replace) => {
    await office.goto(officePage);
    if (replace) await office.getByRole('button', { name: `Replace ${name}` }).click();
    else {
      await office.getByLabel('Invite a trustee').fill(name);
      await office.getByRole('button', { name: 'Invite', exact: true }).click();
    }
    await office.getByRole('heading', { name: `Trustee invitation for ${name}` }).waitFor();
    return office.locator('#invite-link').inputValue();
  };
  const links = [];
  for (const name of ['Ada', 'Grace', 'Alan']) links.push(await seat(name, false));
  // Alan's first link is withdrawn before he uses it: the new one replaces it.
  const withdrawn = links[2];
  links[2] = await seat('Alan', true);
  assert.notEqual(links[2], withdrawn);

  // Each trustee in a browser profile of their own: the invitation's page makes the keys.
  const trustees = [];
  for (const [i, name] of ['Ada', 'Grace', 'Alan'].entries()) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const sent = [];
    page.on('request', (r) => { if (r.method() === 'POST') sent.push(r.postData() ?? ''); });
    await page.goto(links[i]);
    await page.getByRole('heading', { name: `Welcome, ${name}` }).waitFor();
    await page.getByLabel('Key file passphrase').fill(PASSPHRASES[i]);
    await page.getByLabel('The same passphrase again').fill(PASSPHRASES[i]);
    await page.getByRole('button', { name: 'Make my keys and enrol' }).click();
    await page.getByText('You are enrolled').waitFor({ timeout: 60_000 });
    const fingerprint = (await page.getByText('You are enrolled').textContent()).match(/fingerprint is ([0-9a-f ]+):/)[1];
    // The file offered at enrolment, saved: it is all a trustee needs, on any computer.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download your key file' }).click(),
    ]);
    const enrolledFile = join(dir, `${name}-enrolled.key`);
    writeFileSync(enrolledFile, readFileSync(await download.path()));
    trustees.push({ name, page, sent, fingerprint, enrolledFile, passphrase: PASSPHRASES[i], token: links[i].split('/trustee/')[1] });
  }
  // An invitation works once, and a withdrawn one not at all: their pages say so.
  const used = await api(base, `/trustee-invitations/${trustees[0].token}`);
  assert.equal(used.status, 410, JSON.stringify(used.body));
  await trustees[0].page.goto(links[0]);
  await trustees[0].page.getByText('this invitation has been used already').waitFor();
  await trustees[0].page.goto(withdrawn);
  await trustees[0].page.getByText('this seat was given to someone else').waitFor();

  // Before the officer starts it, the ceremony page says so.
  await trustees[0].page.goto(`${base}/e/${id}/trustees`);
  await trustees[0].page.locator('[data-ceremony="none"]').waitFor();
  // The officer starts it: a majority, two of three, is offered first.
  await office.goto(officePage);
  for (const t of trustees) await office.locator(`li[data-trustee="${t.name}"]`, { hasText: t.fingerprint }).waitFor();
  assert.equal(await office.locator('#threshold').inputValue(), '2');
  await office.getByRole('button', { name: 'Start the key ceremony' }).click();
  await office.getByText('The key ceremony has started').waitFor();
  await office.locator('[data-ceremony-state="running"]', { hasText: 'round 1 (commitments) waits for Ada, Grace, Alan' }).waitFor();

  for (const t of trustees) {
    await t.page.goto(`${base}/e/${id}/trustees`);
    await t.page.getByText('Your key file is remembered in this browser.').waitFor();
    // The page reads the remembered key file's public half: this trustee's next step.
    await t.page.locator('[data-your-part]', { hasText: `${t.name}: it is your turn, round 1 (commitments)` }).waitFor();
    await t.page.getByLabel('Key file passphrase').fill(t.passphrase);
    // Each trustee's row shows the fingerprint their own page showed them.
    await t.page.locator(`tr[data-trustee="${t.name}"] td.fingerprint`, { hasText: t.fingerprint }).waitFor();
  }
  {
    const ada = trustees[0];
    // With this browser's storage full, the turn cannot keep its key file: it says so,
    // posts nothing, and the copy remembered here stays byte for byte.
    const storageKey = `ballotchain.trustee.${id}`;
    const remembered = await ada.page.evaluate((k) => localStorage.getItem(k), storageKey);
    await ada.page.evaluate(() => {
      let i = 0;
      for (let size = 1 << 20; size >= 1; ) {
        try { localStorage.setItem(`filler.${i}`, 'x'.repeat(size)); i++; } catch { size >>= 1; }
      }
    });
    await ada.page.getByRole('button', { name: 'Take my turn' }).click();
    await ada.page.locator('section[data-turns] [role="alert"]', { hasText: 'this browser refused to store the key file (its storage may be full); the copy it remembered is unchanged' }).waitFor({ timeout: 60_000 });
    assert.equal(await ada.page.evaluate((k) => localStorage.getItem(k), storageKey), remembered);
    assert.equal(await ada.page.evaluate((k) => localStorage.getItem(`${k}.saving`), storageKey), null);
    assert.equal((await api(base, `/elections/${id}/ceremony`)).body.ceremony.messages.length, 0);
    await ada.page.evaluate(() => {
      for (const k of Object.keys(localStorage)) if (k.startsWith('filler.')) localStorage.removeItem(k);
    });
    // With room again, the same turn keeps the file and posts its commitment.
    const section = ada.page.locator('section[data-turns]');
    await ada.page.getByRole('button', { name: 'Take my turn' }).click();
    await until(async () => Number(await section.getAttribute('data-turns')) > 0, 60_000, "Ada's turn once her storage has room");
    assert.notEqual(await ada.page.evaluate((k) => localStorage.getItem(k), storageKey), remembered);
    assert.equal((await api(base, `/elections/${id}/ceremony`)).body.ceremony.messages.length, 1);
  }
  // Ada's page carries on by itself: it reads the board every few seconds and says whom
  // the round waits for.
  await trustees[0].page.locator('section[data-turns] [role="status"]', { hasText: 'round 1 (commitments) waits for Grace, Alan. This page takes your next turn by itself' }).waitFor({ timeout: 30_000 });
  // Grace and Alan press once each; every page then takes each round as the board moves,
  // in one visit, and ends with the election key its own key share gives.
  for (const t of trustees.slice(1)) await t.page.getByRole('button', { name: 'Take my turn' }).click();
  const complete = async () => (await api(base, `/elections/${id}/ceremony`)).body.ceremony?.election_key != null;
  await until(async () => {
    for (const t of trustees) {
      const alert = t.page.locator('section[data-turns] [role="alert"]');
      if (await alert.count()) throw new Error(`${t.name}'s part failed: ${await alert.textContent()}`);
    }
    return complete();
  }, 120_000, 'the ceremony, in one visit per trustee');
  const board = (await api(base, `/elections/${id}/ceremony`)).body.ceremony;
  assert.equal(board.messages.length, 3 + 3 + 6 + 3);
  for (const t of trustees) {
    await t.page.locator('[data-turn="done"]', { hasText: `Your key share gives election key ${board.election_key}, the one the board shows.` }).waitFor({ timeout: 30_000 });
    // The board above followed without a reload.
    await t.page.locator('[data-ceremony="complete"]').waitFor();
  }
  // The rounds table fits a desktop window and a phone: nothing is cut off.
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    const page = trustees[2].page;
    await page.setViewportSize({ width, height });
    const overflow = await page.evaluate(() => {
      const region = document.querySelector('.scroll');
      return { region: region.scrollWidth - region.clientWidth, page: document.documentElement.scrollWidth - window.innerWidth };
    });
    assert.deepEqual(overflow, { region: 0, page: 0 }, `the ceremony page at ${width} px`);
  }
  await trustees[2].page.setViewportSize({ width: 1280, height: 800 });

  // Nothing the pages posted carries a passphrase or a key file; the key files each
  // browser remembers keep the trustee's side sealed.
  for (const t of trustees) {
    for (const body of t.sent) {
      assert.ok(!body.includes(t.passphrase) && !body.includes('"state"') && !body.includes('kdf'), body.slice(0, 200));
    }
    const kept = await t.page.evaluate((e) => localStorage.getItem(`ballotchain.trustee.${e}`), id);
    assert.ok(kept.includes('"state"') && !kept.includes('Commitments') && !kept.includes('"trustee"'), kept.slice(0, 200));
  }

  // The officer sees it complete, and opens the election under the trustees' key: its
  // genesis block seals them, t = 2.
  await office.goto(officePage);
  await office.locator('[data-ceremony-state="complete"]', { hasText: 'any 2 of the 3 trustees' }).waitFor();
  await office.getByRole('button', { name: 'Seal the genesis block and open voting' }).click();
  await office.getByText('voting is open').waitFor();
  const genesis = (await api(base, `/elections/${id}/genesis`)).body;
  assert.equal(genesis.trustees.threshold, 2, JSON.stringify(genesis.trustees).slice(0, 300));
  assert.equal(genesis.trustees.trustees.length, 3);
  assert.equal(genesis.trustees.election_key, board.election_key);

  // A trustee who comes back once voting is open has the sealed genesis block checked
  // against her key file: it holds exactly the keys her ceremony made, and the page gives
  // its hash to publish (the one voters pin).
  const again = trustees[1];
  const sealedHash = (await api(base, `/elections/${id}`)).body.genesis_hash;
  assert.match(sealedHash, /^[0-9a-f]{64}$/);
  const turnsBefore = Number(await again.page.locator('section[data-turns]').getAttribute('data-turns'));
  await again.page.getByRole('button', { name: 'Take my turn' }).click();
  await until(async () => {
    const alert = again.page.locator('section[data-turns] [role="alert"]');
    if (await alert.count()) throw new Error(`the genesis check failed: ${await alert.textContent()}`);
    return Number(await again.page.locator('section[data-turns]').getAttribute('data-turns')) > turnsBefore;
  }, 30_000, 'the genesis check');
  await again.page.locator('[data-turn="done"]', { hasText: `The genesis block ${sealedHash} seals your key with exactly the set your key ceremony made` }).waitFor();

  // Votes on the ballot page: with JavaScript the choice is encrypted and proved in this
  // browser and the post carries no candidate id; without it the server encrypts.
  const vote = async (code, candidate, javaScriptEnabled) => {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const sent = [];
    page.on('request', (r) => { if (r.method() === 'POST') sent.push(r.postData() ?? ''); });
    await page.goto(`${base}/e/${id}`);
    if (javaScriptEnabled) await page.waitForLoadState('networkidle');
    await page.getByLabel('Your voting code').fill(code);
    await page.getByRole('radio', { name: new RegExp(candidate) }).check();
    await page.getByRole('checkbox').check();
    await castBallot(page);
    await page.waitForURL(new RegExp(`/e/${id}/receipt/[0-9a-f]{64}$`), { timeout: 30_000 });
    await context.close();
    return sent;
  };
  // Cast-or-audit: a voter seals Grace, then audits instead of casting. The audit reveals
  // the choice and the seed; another browser's audit page and the CLI re-make the bytes.
  const auditor = await (await browser.newContext()).newPage();
  await auditor.goto(`${base}/e/${id}`);
  await auditor.waitForLoadState('networkidle');
  await auditor.getByLabel('Your voting code').fill(codes[2]);
  await auditor.getByRole('radio', { name: /Grace Hopper/ }).check();
  await auditor.getByRole('checkbox').check();
  await auditor.getByRole('button', { name: 'Seal my ballot' }).click();
  const sealed = await auditor.locator('section.sealed').getAttribute('data-sealed');
  await auditor.getByRole('button', { name: 'Audit this ballot instead' }).click();
  const auditText = await auditor.locator('#audit-text').inputValue();
  const audit = JSON.parse(auditText);
  assert.equal(audit.choice, candidateIds[1]);
  const checker = await (await browser.newContext()).newPage();
  await checker.goto(`${base}/e/${id}/audit`);
  await checker.waitForLoadState('networkidle');
  await checker.getByLabel('The audit (JSON)').fill(auditText);
  await checker.getByRole('button', { name: 'Check the audit' }).click();
  await checker.locator('[data-audit="match"]', { hasText: 'the encryption of Grace Hopper' }).waitFor();
  // A page that had encrypted Ada while showing Grace is caught.
  await checker.getByLabel('The audit (JSON)').fill(JSON.stringify({ ...audit, choice: candidateIds[0] }));
  await checker.getByRole('button', { name: 'Check the audit' }).click();
  await checker.locator('[data-audit="mismatch"]', { hasText: 'NOT the encryption' }).waitFor();
  await checker.context().close();
  const auditFile = join(dir, 'ballot-audit.json');
  writeFileSync(auditFile, auditText);
  const audited = await cli(['audit', auditFile, '--server', base]);
  assert.equal(audited.code, 0, audited.stdout + audited.stderr);
  assert.match(audited.stdout, /encryption of candidate \d+ \(Grace Hopper\)/);
  writeFileSync(auditFile, JSON.stringify({ ...audit, choice: candidateIds[0] }));
  const lying = await cli(['audit', auditFile, '--server', base]);
  assert.notEqual(lying.code, 0);
  assert.match(lying.stderr + lying.stdout, /NOT the encryption/);
  // Nothing was cast; the voter seals a new ballot, encrypted afresh, and casts it.
  assert.equal((await api(base, `/elections/${id}`)).body.votes, 0);
  await auditor.getByRole('button', { name: 'Seal a new ballot' }).click();
  await auditor.getByRole('radio', { name: /Ada Lovelace/ }).check();
  await castBallot(auditor);
  await auditor.waitForURL(new RegExp(`/e/${id}/receipt/[0-9a-f]{64}$`), { timeout: 30_000 });
  const receipt = (await api(base, `/elections/${id}/receipts/${auditor.url().split('/').pop()}`)).body;
  assert.notEqual(receipt.ballot, sealed, 'the audited ballot is never cast');
  await auditor.context().close();

  for (const [code, candidate] of [[codes[0], 'Ada Lovelace']]) {
    const sent = await vote(code, candidate, true);
    assert.ok(sent.length >= 1);
    for (const body of sent) {
      assert.ok(!body.includes('candidate_id') && !body.includes(code), `a post with JavaScript: ${body.slice(0, 200)}`);
    }
  }
  const plain = await vote(codes[1], 'Grace Hopper', false);
  assert.ok(plain.some((body) => body.includes('candidate')), 'without JavaScript the choice is posted, as the page says');
  const detail = (await api(base, `/elections/${id}`)).body;
  assert.equal(detail.pending_votes, 3);

  // A volunteer mines the pending votes in the browser.
  const miner = await (await browser.newContext()).newPage();
  await miner.goto(`${base}/e/${id}/mine`);
  await miner.locator('html[data-live="open"]').waitFor();
  await miner.getByRole('button', { name: 'Start mining' }).click();
  let block;
  await until(async () => {
    [block] = (await api(base, `/elections/${id}/blocks?status=awaiting`)).body;
    return block !== undefined;
  }, 120_000, 'a block mined in the browser');
  await miner.context().close();
  assert.equal(block.votes, 3, JSON.stringify(block));

  // Both validators approve it in their dashboards: each browser verifies the chain and
  // the block (ballot proofs included) before its key signs.
  for (const who of ['validator1', 'validator2']) {
    const { key, passphraseFile } = demoKey(dir, who);
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, who, demoPassword(out, who), /\/validator$/);
    const card = page.locator(`article[data-block="${block.hash}"]`);
    await card.locator('.browser-check[data-verdict="passed"]').waitFor({ timeout: 60_000 });
    await unlockKey(page, { key, passphrase: readFileSync(passphraseFile, 'utf8').trim() });
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: /Approved block 1/ }).waitFor();
    await page.context().close();
  }
  assert.equal((await api(base, `/elections/${id}/blocks/${block.hash}`)).body.status, 'appended');

  // While voting is open the explorer shows turnout only.
  const explorer = await (await browser.newContext()).newPage();
  await explorer.goto(`${base}/e/${id}/chain`);
  await explorer.locator('.turnout[data-turnout="3"]').waitFor();

  // The officer closes voting and finalises the count on the election's page.
  await office.goto(officePage);
  await office.getByRole('button', { name: 'Close voting' }).click();
  await office.getByText('Voting is closed.').waitFor();
  await office.getByRole('button', { name: 'Finalise the count' }).click();
  await office.getByText('The count is final').first().waitFor();
  await office.locator('[data-final-height="1"]').waitFor();

  // Ada posts her share from her browser, Grace from another computer; Alan stays away. Each is
  // given the final head from outside the office (here the officer's page shows it too).
  const finalHead = (await api(base, `/elections/${id}/tally`)).body.final_head;
  const givenHead = `${finalHead.height}:${finalHead.head}`;
  const genesisOf = (await api(base, `/elections/${id}`)).body.genesis_hash;
  const failed = async (t) => {
    const alert = t.page.locator('section[aria-labelledby="share-h"] [role="alert"]');
    await alert.waitFor({ timeout: 120_000 });
    return alert.textContent();
  };
  const posted = async (t) => until(async () => {
    const alert = t.page.locator('section [role="alert"]');
    if (await alert.count()) throw new Error(`${t.name}'s share failed: ${await alert.textContent()}`);
    return (await t.page.locator('[data-share="posted"]').count()) > 0;
  }, 120_000, `${t.name}'s share`);
  const recordKey = async (t) => {
    const file = JSON.parse(t.keptFile ?? await t.page.evaluate((e) => localStorage.getItem(`ballotchain.trustee.${e}`), id));
    return `ballotchain.count.${genesisOf}.${file.public_key}`;
  };
  {
    // Ada's key file is remembered in her browser. Given another head, she posts nothing.
    const ada = trustees[0];
    await ada.page.goto(`${base}/e/${id}/tally`);
    await ada.page.getByText('Your key file is remembered in this browser.').waitFor();
    await ada.page.getByLabel('Key file passphrase').fill(ada.passphrase);
    await ada.page.getByLabel('The final head you were given (HEIGHT:HASH)').fill(`0:${genesisOf}`);
    await ada.page.getByRole('button', { name: 'Check the count and post my share' }).click();
    assert.match(await failed(ada), /not the one you were given, 0:[0-9a-f]{64}: posting nothing/);
    assert.deepEqual((await api(base, `/elections/${id}/tally`)).body.shares, []);
    assert.equal(await ada.page.evaluate((k) => localStorage.getItem(k), await recordKey(ada)), null);
    // With the head she was given, it is posted, and recorded in her browser first.
    await ada.page.getByLabel('The final head you were given (HEIGHT:HASH)').fill(givenHead);
    await ada.page.getByRole('button', { name: 'Check the count and post my share' }).click();
    await posted(ada);
    const record = JSON.parse(await ada.page.evaluate((k) => localStorage.getItem(k), await recordKey(ada)));
    assert.deepEqual([record.height, record.head, record.genesis], [finalHead.height, finalHead.head, genesisOf]);
    const own = await ada.page.locator('[data-own-sums]').getAttribute('data-own-sums');
    assert.equal(own, (await api(base, `/elections/${id}/tally`)).body.sums);
    assert.equal(record.sums, own);
  }
  {
    // Grace, on another computer (a fresh browser profile), has only the key file she
    // saved at enrolment, before any turn: her part of the ceremony is re-made from it and
    // the board. The share is posted only once she has downloaded the key file that
    // records the count.
    const grace = trustees[1];
    grace.keptFile = readFileSync(grace.enrolledFile, 'utf8');
    assert.ok(!grace.keptFile.includes('"state"'), 'the enrolment file keeps no ceremony');
    grace.page = await (await browser.newContext()).newPage();
    await grace.page.goto(`${base}/e/${id}/tally`);
    await grace.page.getByLabel('Your key file').setInputFiles(grace.enrolledFile);
    await grace.page.getByLabel('Key file passphrase').fill(grace.passphrase);
    await grace.page.getByLabel('The final head you were given (HEIGHT:HASH)').fill(givenHead);
    await grace.page.getByRole('button', { name: 'Check the count and post my share' }).click();
    const saveFirst = grace.page.locator('[data-share="save-first"]');
    await until(async () => {
      const alert = grace.page.locator('section [role="alert"]');
      if (await alert.count()) throw new Error(`Grace's share failed: ${await alert.textContent()}`);
      return (await saveFirst.count()) > 0;
    }, 120_000, "Grace's share made from her enrolment file");
    const postIt = saveFirst.getByRole('button', { name: 'I have saved it: post my share' });
    assert.equal(await postIt.isDisabled(), true);
    assert.deepEqual((await api(base, `/elections/${id}/tally`)).body.shares, [0]);
    const [download] = await Promise.all([
      grace.page.waitForEvent('download'),
      saveFirst.getByRole('link', { name: 'Download your updated key file' }).click(),
    ]);
    const updated = readFileSync(await download.path(), 'utf8');
    assert.equal(JSON.parse(updated).public_key, JSON.parse(grace.keptFile).public_key);
    assert.notEqual(updated.trim(), grace.keptFile.trim());
    await postIt.click();
    await posted(grace);
    const record = JSON.parse(await grace.page.evaluate((k) => localStorage.getItem(k), await recordKey(grace)));
    assert.deepEqual([record.height, record.head], [finalHead.height, finalHead.head]);
    // Had this browser recorded another count for her key (a view the office showed
    // her before), a second copy of her key file chosen here is refused.
    await grace.page.evaluate(([k, r]) => localStorage.setItem(k, r), [await recordKey(grace), JSON.stringify({ ...record, height: 0, head: genesisOf })]);
    await grace.page.goto(`${base}/e/${id}/tally`);
    await grace.page.getByLabel('Your key file').setInputFiles(grace.enrolledFile);
    await grace.page.getByLabel('Key file passphrase').fill(grace.passphrase);
    await grace.page.getByRole('button', { name: 'Check the count and post my share' }).click();
    assert.match(await failed(grace), /this trustee's share of another count is recorded here \(block 0, [0-9a-f]{64}\): it decrypts only one count: posting nothing/);
  }
  const tally = (await api(base, `/elections/${id}/tally`)).body;
  assert.deepEqual(tally.shares, [0, 1]);
  assert.deepEqual(tally.result.map((c) => [c.name, c.votes]), [['Ada Lovelace', 2], ['Grace Hopper', 1]]);
  await trustees[1].page.locator('[data-count="published"]').waitFor();

  // The explorer shows the result, the final head and whose shares are in.
  await explorer.goto(`${base}/e/${id}/chain`);
  await explorer.locator('[data-final-height="1"]').waitFor();
  // Each share is listed with its trustee and checked again against the chain.
  await explorer.locator('li[data-share="1"][data-holds="true"]', { hasText: `Ada (seat 1, key ${trustees[0].fingerprint}): a share of the count up to block 1, ${finalHead.head}` }).waitFor();
  await explorer.locator('li[data-share="2"][data-holds="true"]', { hasText: `Grace (seat 2, key ${trustees[1].fingerprint}): a share of the count up to block 1, ${finalHead.head}` }).waitFor();
  assert.equal(await explorer.locator('li[data-share]').count(), 2);
  assert.match(await explorer.locator('main').innerText(), /Ada Lovelace[\s\S]*2/);

  // Anyone re-checks the whole election offline: every ballot proof, the sums, both
  // shares and the counts.
  const genesisHash = (await api(base, `/elections/${id}`)).body.genesis_hash;
  const verified = await cli(['verify', `${base}/api/elections/${id}/export`, '--genesis', genesisHash]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /Ada Lovelace/);
});
