// The secret ballot in headless Chromium, against the real server: how long the ballot
// page takes to seal (encrypt and prove) a 10-candidate ballot in its worker, and how long
// a validator's dashboard takes to check one new 1,000-ballot block on a warm visit (its
// copy of the chain already in IndexedDB). Also the ballot worker's bundle size. Prints
// one line `BROWSER_BALLOT {json}`.
// Env: BALLOTCHAIN_BIN (the server binary), LEPTOS_SITE_ROOT (the built site).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BIN, SITE, api, apiSession, demoPassword, launchBrowser, openElection, startServer, until } from '../tests/support.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ballotchain-bench-ballot-'));
const { child, url: base, out } = await startServer(dir);
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const admin = await apiSession(base, 'admin', demoPassword(out, 'admin'));
  const names = Array.from({ length: 10 }, (_, i) => `Candidate ${i + 1}`);
  const ten = await openElection(base, admin, { title: 'Ten candidates', candidates: names, voters: 1 });

  // Sealing: the first seal also loads the worker; then sealed, audited and sealed again.
  const page = await browser.newPage();
  await page.goto(`${base}/e/${ten.id}`);
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Your voting code').fill(ten.codes[0]);
  await page.getByRole('checkbox').check();
  const seals = [];
  const inWorker = [];
  for (let i = 0; i < 21; i++) {
    await page.getByRole('radio', { name: names[i % 10], exact: true }).check();
    const started = performance.now();
    await page.getByRole('button', { name: 'Seal my ballot' }).click();
    await page.locator('section.sealed').waitFor();
    seals.push(performance.now() - started);
    inWorker.push(Number(await page.locator('section.sealed').getAttribute('data-millis')));
    await page.getByRole('button', { name: 'Audit this ballot instead' }).click();
    await page.getByRole('button', { name: 'Seal a new ballot' }).click();
  }
  const wasm = readFileSync(join(SITE, 'workers', 'ballot_bg.wasm'));

  // One block of 1,000 ballots, awaiting; the validator's first visit makes its copy,
  // the second (warm) checks only that block.
  const big = await openElection(base, admin, { title: 'A thousand ballots', voters: 1000 });
  for (let at = 0; at < big.codes.length; at += 16) {
    const casts = big.codes.slice(at, at + 16).map((code, i) => api(base, `/elections/${big.id}/votes`, {
      method: 'POST', body: { code, candidate_id: big.candidates[(at + i) % 2] },
    }));
    for (const r of await Promise.all(casts)) if (r.status !== 202) throw new Error(`vote: ${r.status} ${JSON.stringify(r.body)}`);
  }
  execFileSync(BIN, ['mine', '--server', base, '--election', String(big.id), '--once', '--tag', 'bench']);
  const [block] = (await api(base, `/elections/${big.id}/blocks?status=awaiting`)).body;
  if (block?.votes !== 1000) throw new Error(`the block holds ${block?.votes} votes`);
  const context = await browser.newContext();
  const signedIn = await context.request.post(`${base}/api/session`, { data: { username: 'validator1', password: demoPassword(out, 'validator1') } });
  if (!signedIn.ok()) throw new Error(`sign-in: ${signedIn.status()}`);
  const visit = async () => {
    const p = await context.newPage();
    const started = performance.now();
    await p.goto(`${base}/validator`);
    const check = p.locator(`article[data-block="${block.hash}"] .browser-check[data-verdict="passed"]`);
    await check.waitFor({ timeout: 600_000 });
    const seconds = (performance.now() - started) / 1000;
    const checkMs = Number((await check.innerText()).match(/checked in this browser in (\d+) ms/)[1]);
    const copy = p.locator(`li[data-copy="${big.id}"]`);
    const copyMs = Number(await copy.getAttribute('data-millis'));
    const copyTimings = await copy.getAttribute('data-timings');
    await p.close();
    return { seconds: Number(seconds.toFixed(2)), checkMs, copyMs, copyTimings };
  };
  const cold = await visit();
  const warm = [await visit(), await visit()];
  console.log(`BROWSER_BALLOT ${JSON.stringify({
    sealFirstMs: Math.round(seals[0]),
    sealWorkerMedianMs: median(inWorker.slice(1)),
    sealWorkerMinMs: Math.min(...inWorker.slice(1)),
    sealMedianMs: Math.round(median(seals.slice(1))),
    sealMinMs: Math.round(Math.min(...seals.slice(1))),
    ballotWasmBytes: wasm.length,
    ballotWasmGzipBytes: gzipSync(wasm).length,
    ballotJsBytes: statSync(join(SITE, 'workers', 'ballot.js')).size,
    block1000Cold: cold,
    block1000Warm: warm,
  })}`);
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
await until(async () => child.exitCode !== null, 10_000, 'the server to stop');
