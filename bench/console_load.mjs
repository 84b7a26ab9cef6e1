// Console load time: how long a fresh browser (no cache) takes from navigation to a hydrated
// sign-in page, for the site a running Berth serves. Prints the median of N loads, the bytes
// the browser transferred, and whether the bundle came compressed.
// Usage: node bench/console_load.mjs http://127.0.0.1:8080 [loads=7]
import { chromium } from '@playwright/test';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const loads = Number(process.argv[3] ?? 7);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const times = [];
let transferred = 0;
let encoding = '';
for (let i = 0; i < loads; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  let bytes = 0;
  page.on('response', async (r) => {
    const length = Number((await r.allHeaders())['content-length'] ?? 0);
    bytes += length;
    if (r.url().endsWith('.wasm')) encoding = r.headers()['content-encoding'] ?? 'identity';
  });
  const started = Date.now();
  await page.goto(`${base}/login`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  times.push(Date.now() - started);
  transferred = bytes;
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  base, loads, median_ms: times[Math.floor(times.length / 2)], min_ms: times[0],
  max_ms: times[times.length - 1], transferred_bytes: transferred, wasm_encoding: encoding,
}));
