// Policies in the console, on the Berth configured with the seed's blocks: the administration
// page shows the configuration's retention, immutability and quota policies and the storage of
// every project; a garbage collection dry run appears in the run history; a project's
// immutable tags tab marks the configuration's rule and adds and removes the project's own.
import { expect, test, type Page } from '@playwright/test';
import { adminPassword, oidcBaseURL, policyFileProject } from '../playwright.config';

test.use({ baseURL: oidcBaseURL });

const auth = { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') };

async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

async function signInLocally(page: Page) {
  // The local administrator keeps working under oidc_auth (break-glass).
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
}

test('configuration policies, storage and garbage collection on the administration page', async ({ page, request }, testInfo) => {
  const project = `pol-${Date.now() % 100000}`;
  expect((await request.post('/api/v2.0/projects', { headers: auth, data: { project_name: project } })).status()).toBe(201);

  await signInLocally(page);
  await page.goto('/admin');
  await hydrated(page);
  const config = page.getByTestId('config-policies');
  await expect(config).toContainText('keep the 10 most recently pushed tags matching v*');
  await expect(config).toContainText('keep tags matching latest pushed in the last 7 days');
  await expect(config).toContainText('always keep tags matching release-*');
  await expect(config.locator('[data-config="Immutable tags (every project)"]')).toContainText('release-*');
  await expect(config.locator('[data-config="Storage quota per project"]')).toContainText('100');
  await expect(config.locator('[data-config="Storage quota, whole registry"]')).toContainText('10');

  // New projects get the configured 100 GB; the overview lists the project.
  await expect(page.getByTestId('system-quota').locator(`tr[data-project-usage="${project}"]`)).toBeVisible();

  // A dry run shows up in the history and finishes.
  await page.getByTestId('gc-dry-run').click();
  const row = page.getByTestId('gc').locator('tr[data-gc-run]').first();
  await expect(row).toHaveAttribute('data-status', 'success', { timeout: 15_000 });
  await expect(row).toContainText('dry run');
  await expect(row).toContainText('would delete');
  await page.screenshot({ path: testInfo.outputPath('admin-policies.png'), fullPage: true });

  // The event consumers: scan on push has caught up with every event written so far.
  const consumers = page.getByTestId('event-consumers');
  const scanOnPush = consumers.locator('tr[data-testid="event-consumer"]', { hasText: 'scan-on-push' });
  await expect
    .poll(async () => {
      await consumers.getByRole('button', { name: 'Refresh' }).click();
      return (await scanOnPush.textContent({ timeout: 2_000 }).catch(() => '')) ?? '';
    }, { timeout: 15_000 })
    .toContain('up to date');

  // The project's immutable tags: the configuration's rule, marked, and one of its own.
  await page.goto(`/projects/${project}`);
  await hydrated(page);
  await page.getByRole('tab', { name: 'Immutable tags' }).click();
  const tab = page.getByTestId('immutability');
  await expect(tab.locator('tr[data-immutable-rule="release-*"]')).toContainText('From configuration');
  await page.getByLabel('Immutable rule tags').fill('v*');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const own = tab.locator('tr[data-immutable-rule="v*"]');
  await expect(own).toContainText('This project');
  // The rule is in force for the registry too.
  const rules = await request.get(`/api/v2.0/projects/${project}/immutabletagrules`, { headers: auth });
  expect(rules.status()).toBe(200);
  expect(JSON.stringify(await rules.json())).toContain('v*');
  await page.screenshot({ path: testInfo.outputPath('immutable-tags.png'), fullPage: true });
  await own.getByRole('button', { name: 'Remove' }).click();
  await expect(own).toHaveCount(0);
  // The configuration's rule has no remove button.
  await expect(tab.locator('tr[data-immutable-rule="release-*"]').getByRole('button')).toHaveCount(0);
});

test('a project declared by a policy file shows its policies as coming from configuration', async ({ page }) => {
  await signInLocally(page);
  await page.goto(`/projects/${policyFileProject}`);
  await hydrated(page);
  await expect(page.getByTestId('quota')).toContainText('46.6 GiB');
  await page.getByRole('tab', { name: 'Immutable tags' }).click();
  await expect(page.getByTestId('managed-note')).toContainText('payments.yml');
  await expect(page.getByTestId('immutability').locator('tr[data-immutable-rule="v*"]')).toContainText('api/**');
  await page.getByRole('tab', { name: 'Tag retention' }).click();
  await expect(page.getByTestId('managed-note')).toContainText('payments.yml');
  await expect(page.getByLabel('Retention schedule')).toHaveValue('0 3 * * *');
  await expect(page.getByLabel('Rule 1 tags')).toHaveValue('v*');
});
