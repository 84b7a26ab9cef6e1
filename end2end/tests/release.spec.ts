// The artifact the README's run command produces, started the way a new user starts it:
// `./scripts/run.sh` (which builds if needed, then runs the release binary from the
// checkout), on an empty data directory and a free port. A new user opens the page, signs in
// with the password Berth printed, and uses the console; a browser without JavaScript can sign
// in too, and no credential ever appears in a URL.
import { expect, test, type Page, type Request } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  base: string;
  password: string;
  log: () => string;
}

/// `./scripts/run.sh` with only a data directory and a port of its own; resolves once Berth
/// is ready and has printed the administrator's generated password.
async function runSh(): Promise<Started> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-run-sh-'));
  let output = '';
  // Nothing tells the binary where its site is: it must find it beside itself.
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_HTTP__PORT: String(port) };
  delete env.LEPTOS_SITE_ROOT;
  delete env.BERTH_ADMIN_PASSWORD;
  const child = spawn(path.join(root, 'scripts', 'run.sh'), [], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d.toString()));
  child.stderr!.on('data', (d) => (output += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`run.sh exited (${child.exitCode}):\n${output}`);
    const password = /password: (\S+)/.exec(output)?.[1];
    if (password) {
      try {
        const res = await fetch(`${base}/readyz`);
        if (res.ok) return { child, base, password, log: () => output };
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill('SIGTERM');
  throw new Error(`run.sh did not become ready:\n${output}`);
}

let berth: Started;

test.beforeAll(async () => {
  test.setTimeout(660_000);
  berth = await runSh();
});

test.afterAll(async () => {
  berth?.child.kill('SIGTERM');
});

function credentialsInUrls(requests: Request[], password: string): string[] {
  return requests
    .map((r) => r.url())
    .filter((u) => u.includes(password) || /[?&](username|password)=/.test(u));
}

async function styled(page: Page) {
  // The stylesheet is the compiled one: Tailwind's sky-600 on the sign-in button.
  const button = page.getByRole('button', { name: 'Sign in' });
  const background = await button.evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(background, 'the sign-in button is styled').not.toBe('rgba(0, 0, 0, 0)');
  const logo = page.locator('svg').first();
  expect((await logo.boundingBox())!.height, 'the logo keeps its size').toBeLessThan(100);
}

test('run.sh serves a styled console that hydrates, signs in and responds without a page load', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ baseURL: berth.base, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests: Request[] = [];
  const failures: string[] = [];
  page.on('request', (r) => requests.push(r));
  page.on('response', (r) => {
    if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') failures.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));

  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated="true"]');
  await styled(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(berth.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await expect(page.getByTestId('current-user')).toHaveText('admin');

  // One interaction that needs the hydrated app: the user menu opens in place.
  const loads: string[] = [];
  page.on('load', () => loads.push(page.url()));
  await page.click('#user-menu-button');
  await expect(page.locator('#user-menu')).toBeVisible();
  expect(loads, 'no page load for the menu').toHaveLength(0);

  await page.screenshot({ path: testInfo.outputPath('run-sh-console.png'), fullPage: true });
  await testInfo.attach('run-sh-console', { path: testInfo.outputPath('run-sh-console.png'), contentType: 'image/png' });

  // Back after signing out shows nothing of the signed-in user: pages are never stored.
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
  await page.goBack();
  await page.waitForSelector('body[data-hydrated="true"]');
  await expect(page.getByTestId('current-user')).not.toHaveText('admin');
  expect(await page.content()).not.toContain('Signed in as');
  expect(failures, 'no failed request, script error or policy violation').toEqual([]);
  expect(credentialsInUrls(requests, berth.password)).toEqual([]);
  await context.close();
});

test('the bundle is served compressed and cacheable, pages are never stored', async ({ request }) => {
  for (const [file, type] of [
    ['/pkg/berth_bg.wasm', 'application/wasm'],
    ['/pkg/berth.js', 'javascript'],
    ['/pkg/berth.css', 'text/css'],
  ]) {
    const res = await request.get(`${berth.base}${file}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(res.status(), file).toBe(200);
    expect(res.headers()['content-type'], file).toContain(type);
    expect(res.headers()['content-encoding'], file).toBe('br');
    expect(res.headers()['cache-control'], file).toBe('public, no-cache');
    const modified = res.headers()['last-modified'];
    expect(modified, file).toBeTruthy();
    const again = await request.get(`${berth.base}${file}`, {
      headers: { 'accept-encoding': 'br', 'if-modified-since': modified },
    });
    expect(again.status(), `${file} revalidates`).toBe(304);
  }
  const page = await request.get(`${berth.base}/login`);
  expect(page.headers()['cache-control']).toBe('no-store');
  expect(page.headers()['content-security-policy']).toContain("'wasm-unsafe-eval'");
});

test('without JavaScript the sign-in form still signs in, and no credential is in any URL', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: berth.base, javaScriptEnabled: false });
  const page = await context.newPage();
  const requests: Request[] = [];
  page.on('request', (r) => requests.push(r));

  // An early Enter before anything could hydrate: the form posts to the server.
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(/\/login\?error=/);
  await expect(page.getByRole('alert')).toContainText('invalid username or password');

  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(berth.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
  // Signed in: the session the form's answer set is the admin's.
  const me = await context.request.post('/console/fn/current_user', { headers: { origin: berth.base } });
  expect(await me.text()).toContain('"admin"');

  const posts = requests.filter((r) => r.method() === 'POST').map((r) => new URL(r.url()).pathname);
  expect(posts).toEqual(['/login', '/login']);
  expect(credentialsInUrls(requests, berth.password)).toEqual([]);
  expect(credentialsInUrls(requests, 'not-the-password')).toEqual([]);
  await context.close();
});
