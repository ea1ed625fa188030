// Accessibility audit: every page, at a phone's width and a desktop's, checked by axe-core
// against WCAG 2 A and AA and axe's best practices, in Debian's Chromium.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, api, apiSession, demoPassword, launchBrowser, openElection, signIn, startServer } from './support.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WIDTHS = [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 900 }]];

let demo;
let fresh;
let browser;

before(async () => {
  demo = await startServer(mkdtempSync(join(tmpdir(), 'ballotchain-a11y-')));
  fresh = await startServer(mkdtempSync(join(tmpdir(), 'ballotchain-a11y-fresh-')), false);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  demo?.child.kill('SIGTERM');
  fresh?.child.kill('SIGTERM');
});

/** The axe violations of the page as it is now, one readable line each. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice'] },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

async function audit(page, url, ready) {
  await page.goto(url);
  await ready(page);
  // A page that follows its election keeps its event stream open, so the network never
  // goes quiet there: it says when it is live instead.
  if (isReceipt(url) || LIVE.some((path) => new URL(url).pathname.endsWith(path))) {
    await page.locator('html[data-live="open"]').waitFor();
  } else {
    await page.waitForLoadState('networkidle');
  }
  return violations(page);
}

/** The pages that follow their election live (ends of their paths). */
const LIVE = ['/chain', '/trustees', '/tally', '/mine'];
const isReceipt = (url) => /\/receipt\/[0-9a-f]{64}$/.test(new URL(url).pathname);

test('every page passes the axe audit at phone and desktop widths', async () => {
  const base = demo.url;
  const admin = await apiSession(base, 'admin', demoPassword(demo.out, 'admin'));
  const e = await openElection(base, admin, { title: 'Audited election', voters: 2 });
  const cast = await fetch(`${base}/api/elections/${e.id}/votes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: e.codes[0], candidate_id: e.candidates[0] }),
  });
  assert.equal(cast.status, 202);
  const { receipt } = await cast.json();
  execFileSync(BIN, ['mine', '--server', base, '--election', String(e.id), '--once', '--tag', 'a11y']);
  const [block] = await (await fetch(`${base}/api/elections/${e.id}/blocks?status=awaiting`)).json();
  const setupLink = fresh.out.match(/(http:\/\/\S+\/setup\?token=\w+)/)[1];
  const invite = async (username, role) => {
    const r = await api(base, '/invitations', { method: 'POST', cookie: admin, body: { username, role } });
    assert.equal(r.status, 201);
    return `${base}${r.body.path}`;
  };
  const validatorInvite = await invite('a11y.validator', 'validator');
  const officerInvite = await invite('a11y.officer', 'admin');
  const seated = await api(base, '/elections', { method: 'POST', cookie: admin, body: { title: 'Seating trustees', difficulty_bits: 8, quorum: 2 } });
  assert.equal(seated.status, 201);
  const seat = await api(base, `/elections/${seated.body.id}/trustees`, { method: 'POST', cookie: admin, body: { name: 'a11y trustee' } });
  assert.equal(seat.status, 201);

  const heading = (text) => (page) => page.locator('h1', { hasText: text }).first().waitFor();
  const pages = [
    ['home', `${base}/`, heading('Elections')],
    ['ballot', `${base}/e/${e.id}`, heading('Audited election')],
    ['receipt', `${base}/e/${e.id}/receipt/${receipt}`, heading('Your vote is recorded')],
    ['explorer', `${base}/e/${e.id}/chain`, heading('Audited election')],
    ['block', `${base}/e/${e.id}/block/${block.hash}`, heading('Block 1')],
    ['miner', `${base}/e/${e.id}/mine`, heading('Mine for')],
    ['login', `${base}/login`, heading('Sign in')],
    ['setup link', setupLink, heading('Create the first admin')],
    ['validator invitation', validatorInvite, heading('Welcome, a11y.validator')],
    ['officer invitation', officerInvite, heading('Welcome, a11y.officer')],
    ['trustee invitation', `${base}${seat.body.path}`, heading('Welcome, a11y trustee')],
    ['key ceremony', `${base}/e/${e.id}/trustees`, heading('Key ceremony')],
  ];
  const problems = [];
  // `bypassCSP`: axe is injected as an inline script, which the server's policy rightly
  // refuses; the other browser tests run every page under the policy.
  for (const [size, viewport] of WIDTHS) {
    const context = await browser.newContext({ viewport, bypassCSP: true });
    const page = await context.newPage();
    for (const [name, url, ready] of pages) {
      for (const v of await audit(page, url, ready)) problems.push(`${name} at ${size}: ${v}`);
    }
    for (const [who, landing, more] of [
      ['validator1', /\/validator$/, []],
      ['admin', /\/admin$/, [['office election', `${base}/admin/e/${e.id}`, heading('Audited election')]]],
    ]) {
      const signedIn = await browser.newContext({ viewport, bypassCSP: true });
      const p = await signedIn.newPage();
      await signIn(p, base, who, demoPassword(demo.out, who), landing);
      const own = [
        [who === 'admin' ? 'office' : 'validator dashboard', p.url(), (q) => q.locator('h1').first().waitFor()],
        [`${who}'s account`, `${base}/account`, heading('Your account')],
        ...more,
      ];
      for (const [name, url, ready] of own) {
        for (const v of await audit(p, url, ready)) problems.push(`${name} at ${size}: ${v}`);
      }
      await signedIn.close();
    }
    await context.close();
  }
  assert.deepEqual(problems, [], `axe found:\n${problems.join('\n')}`);
});
