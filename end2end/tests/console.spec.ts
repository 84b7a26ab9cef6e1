// The console shell: server-rendered HTML that hydrates into an interactive app.
import { expect, test } from '@playwright/test';

async function hydrated(page: import('@playwright/test').Page) {
  // Set by an effect that only runs in the browser once the wasm bundle has hydrated the page.
  await page.waitForSelector('body[data-hydrated="true"]');
}

test('the console is rendered on the server before any script runs', async ({ request }) => {
  const res = await request.get('/');
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toContain('Projects');
  expect(html).toContain('id="user-menu-button"');
  expect(html).not.toContain('data-hydrated');
});

test('the user menu opens in place after hydration, without a page load', async ({ page }, testInfo) => {
  const documentLoads: string[] = [];
  page.on('load', () => documentLoads.push(page.url()));
  await page.goto('/');
  await hydrated(page);
  const loadsBefore = documentLoads.length;

  await expect(page.locator('#user-menu')).toHaveCount(0);
  await page.click('#user-menu-button');
  await expect(page.locator('#user-menu')).toBeVisible();
  await expect(page.locator('#user-menu-button')).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByRole('menuitem', { name: 'Sign in' })).toBeVisible();
  expect(documentLoads.length).toBe(loadsBefore);

  await page.screenshot({ path: testInfo.outputPath('console-user-menu.png'), fullPage: true });
  await testInfo.attach('console-user-menu', {
    path: testInfo.outputPath('console-user-menu.png'),
    contentType: 'image/png',
  });

  // A click outside closes it again.
  await page.mouse.click(600, 500);
  await expect(page.locator('#user-menu')).toHaveCount(0);
});

test('side navigation routes on the client and loads data through a server function', async ({ page }) => {
  await page.goto('/projects');
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { berthMarker: number }).berthMarker = 42));

  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  await expect(page.locator('[data-fact="Authentication"]')).toHaveText('db_auth');
  await expect(page.locator('[data-fact="Database"]')).toHaveText('sqlite');
  await expect(page.getByRole('link', { name: 'Settings' })).toHaveAttribute('aria-current', 'page');

  // Same document: the marker set before navigating survives.
  expect(await page.evaluate(() => (window as unknown as { berthMarker?: number }).berthMarker)).toBe(42);
  await expect(page).toHaveTitle('Settings · Berth');
});

test('the stylesheet compiled by the Tailwind CLI is applied', async ({ page }) => {
  await page.goto('/');
  const header = page.locator('header').first();
  // bg-slate-900 in Tailwind v4 is oklch(20.8% 0.042 265.755).
  const background = await header.evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(background).not.toBe('rgba(0, 0, 0, 0)');
  const nav = page.getByRole('navigation', { name: 'Main' });
  expect((await nav.boundingBox())!.width).toBeCloseTo(240, 0);
});

test('unknown pages show the 404 page with status 404', async ({ page }) => {
  const response = await page.goto('/definitely/not/here');
  expect(response!.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
