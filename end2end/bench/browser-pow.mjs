// Proof-of-work speed in headless Chromium, printed (never asserted): the miner page's
// speed test with 1 and 2 workers, SIMD and scalar builds, and npm hash-wasm's SHA-256 on
// the same 117-byte headers in the same browser as a reference. The native figures come
// from `cargo bench -p server` (server/benches/throughput.rs), which runs this script and
// prints the ratios; run alone it prints one JSON line.
//
// Env: BALLOTCHAIN_BIN (a built binary), LEPTOS_SITE_ROOT (the built site).
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, startServer } from '../tests/support.mjs';

const require = createRequire(import.meta.url);
const server = await startServer(mkdtempSync(join(tmpdir(), 'ballotchain-bench-')));
const browser = await launchBrowser();
const results = { workers: [], hashWasm: null };
try {
  for (const kernel of ['simd', 'scalar']) {
    for (const workers of [1, 2]) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/e/1/mine${kernel === 'scalar' ? '?kernel=scalar' : ''}`);
      await page.waitForLoadState('networkidle');
      await page.getByLabel('Workers (threads)').fill(String(workers));
      await page.getByRole('button', { name: /Speed test/ }).click();
      const result = page.locator('#speed-result');
      await result.waitFor({ timeout: 60_000 });
      results.workers.push({
        kernel: await result.getAttribute('data-kernel'),
        workers,
        mhs: Number(await result.getAttribute('data-rate')) / 1e6,
      });
      await page.close();
    }
  }
  // hash-wasm: one SHA-256 of the whole header per nonce (no midstate), main thread.
  const page = await browser.newPage();
  await page.goto(`${server.url}/robots.txt`);
  await page.addScriptTag({ path: require.resolve('hash-wasm/dist/sha256.umd.min.js') });
  results.hashWasm = await page.evaluate(async () => {
    const hasher = await hashwasm.createSHA256();
    const header = new Uint8Array(117).map((_, i) => (i * 7) & 0xff);
    const view = new DataView(header.buffer);
    const run = (ms) => {
      const end = performance.now() + ms;
      let n = 0;
      while (performance.now() < end) {
        for (let k = 0; k < 1000; k++, n++) {
          view.setUint32(109, n, true);
          hasher.init();
          hasher.update(header);
          hasher.digest('binary');
        }
      }
      return n;
    };
    run(1000);
    const started = performance.now();
    const n = run(5000);
    return { mhs: n / ((performance.now() - started) / 1000) / 1e6 };
  });
  await page.close();
} finally {
  await browser.close();
  server.child.kill('SIGTERM');
}
console.log(`BROWSER_POW ${JSON.stringify(results)}`);
