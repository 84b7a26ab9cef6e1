// Layouts that fit a laptop: from 1280×720 up nothing is cut off, at 800 px everything is still
// reachable (tables scroll inside their card, the side navigation becomes a drawer), and the
// main pages are photographed at 1440×900 and 1280×720.
import { expect, test } from '@playwright/test';
import { adminAuth, hydrated, pushImage, signIn, unreachable } from './helpers';

const project = `layout-${Date.now() % 100000}`;
const repo = `${project}/a-repository-with-a-rather-long-name/for-the-columns`;

test.beforeAll(async ({ request }) => {
  const created = await request.post('/api/v2.0/projects', { headers: adminAuth, data: { project_name: project } });
  expect(created.status()).toBe(201);
  await pushImage(request, repo, ['v1.0.0-with-a-long-tag-name', 'v1.0.1', 'latest', 'stable', 'release-2026-12-01']);
  await pushImage(request, repo, ['v2'], 'second');
  for (const name of ['ci-builder', 'nightly-mirror']) {
    const res = await request.post('/api/v2.0/robots', {
      headers: adminAuth,
      data: { name, duration: 30, level: 'project', permissions: [{ kind: 'project', namespace: project, access: [{ resource: 'repository', action: 'pull' }] }] },
    });
    expect(res.status()).toBe(201);
  }
});

const pages = [
  ['projects', '/projects'],
  ['project', `/projects/${project}`],
  ['repository', `/projects/${project}/repositories/${repo.slice(project.length + 1)}`],
  ['administration', '/admin'],
  ['audit', '/audit'],
  ['settings', '/settings'],
] as const;

for (const [width, height] of [[1440, 900], [1280, 720], [800, 900]] as const) {
  test(`at ${width}×${height} every cell and button is reachable`, async ({ browser }, testInfo) => {
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    await signIn(page);
    for (const [name, path] of pages) {
      await page.goto(path);
      await hydrated(page);
      await page.waitForLoadState('networkidle');
      expect(await unreachable(page), `${name} at ${width}px`).toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} at ${width}px scrolls sideways as a whole`).toBeLessThanOrEqual(0);
      if (width >= 1280) {
        const file = testInfo.outputPath(`${name}-${width}x${height}.png`);
        await page.screenshot({ path: file, fullPage: true });
        await testInfo.attach(`${name}-${width}x${height}`, { path: file, contentType: 'image/png' });
      }
    }
    await context.close();
  });
}

test('below 1024 px the side navigation is a drawer behind the menu button', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  await signIn(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav).toBeHidden();
  const toggle = page.getByRole('button', { name: 'Menu' });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await toggle.click();
  await expect(nav).toBeVisible();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await nav.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(nav).toBeHidden();
  // Wide screens have no menu button: the navigation is always there.
  await page.setViewportSize({ width: 1280, height: 720 });
  await expect(nav).toBeVisible();
  await expect(toggle).toBeHidden();
  await context.close();
});
