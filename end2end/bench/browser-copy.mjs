// One visit of a validator's dashboard in headless Chromium, with a browser profile kept
// between runs (so IndexedDB keeps this browser's copy of the chain): the first run is the
// cold visit, a later one a warm visit. Prints one line `BROWSER_COPY {json}`: seconds from
// navigation until the copy is verified, the checker worker's own milliseconds, the blocks
// it fetched, and the bytes of chain the page and its workers downloaded.
// Env: BENCH_BASE, BENCH_ELECTION, BENCH_USER, BENCH_PASSWORD, BENCH_PROFILE, BENCH_PHASE.
import { chromium } from 'playwright-core';

const { BENCH_BASE: base, BENCH_ELECTION: election, BENCH_USER: user, BENCH_PASSWORD: password, BENCH_PROFILE: profile, BENCH_PHASE: phase } = process.env;
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  // Signed in through the API (the context shares its cookies): the sign-in page would
  // land on the dashboard, and start a check, before the measured visit.
  const signedIn = await context.request.post(`${base}/api/session`, { data: { username: user, password } });
  if (!signedIn.ok()) throw new Error(`sign-in: ${signedIn.status()}`);
  let bytes = 0;
  context.on('requestfinished', async (r) => {
    if (/\/api\/elections\/\d+\/(export|chain)/.test(r.url())) bytes += (await r.sizes()).responseBodySize;
  });
  const started = performance.now();
  await page.goto(`${base}/validator`);
  const copy = page.locator(`li[data-copy="${election}"][data-state="verified"]`);
  await copy.waitFor({ timeout: 600_000 });
  const seconds = (performance.now() - started) / 1000;
  const figures = {
    phase,
    seconds,
    workerMs: Number(await copy.getAttribute('data-millis')),
    fetched: Number(await copy.getAttribute('data-fetched')),
    height: Number(await copy.getAttribute('data-height')),
    timings: await copy.getAttribute('data-timings'),
    bytes,
  };
  console.log(`BROWSER_COPY ${JSON.stringify(figures)}`);
} finally {
  await context.close();
}
