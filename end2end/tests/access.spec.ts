// Access control in the console: an administrator sets up a project with a member and a robot,
// the audit log shows it, and the developer is not offered member management.
import { expect, test, type Page } from '@playwright/test';
import { adminPassword } from '../playwright.config';

async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

async function signIn(page: Page, username: string, password: string) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
  await hydrated(page);
  await expect(page.getByTestId('current-user')).toHaveText(username);
}

async function signOut(page: Page) {
  await page.click('#user-menu-button');
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login(\?signed_out=1)?$/);
}

test('admin sets up a project, a developer and a robot; the audit log records it all', async ({ page, context, baseURL }, testInfo) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const project = `team-${Date.now() % 100000}`;
  const developer = `dev${Date.now() % 100000}`;
  const developerPassword = 'Dev-Passw0rd-123';

  await signIn(page, 'admin', adminPassword);

  // A developer account, from the administration page.
  await page.getByRole('link', { name: 'Administration' }).click();
  await page.getByRole('button', { name: 'New user' }).click();
  await page.locator('input[name="new-username"]').fill(developer);
  await page.locator('input[name="new-email"]').fill(`${developer}@example.com`);
  await page.locator('input[name="new-password"]').fill(developerPassword);
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.locator(`tr[data-user="${developer}"]`)).toBeVisible();

  // A private project.
  await page.getByRole('link', { name: 'Projects' }).click();
  await page.getByRole('button', { name: 'New project' }).click();
  await page.locator('input[name="project-name"]').fill(project);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const row = page.getByRole('row').filter({ hasText: project });
  await expect(row).toContainText('Private');
  await expect(row).toContainText('Project admin');

  // The developer joins it.
  await page.getByRole('link', { name: project }).click();
  await expect(page.getByRole('heading', { name: project })).toBeVisible();
  await page.getByRole('tab', { name: 'Members' }).click();
  await page.locator('input[name="member-name"]').fill(developer);
  await page.locator('select[name="member-role"]').selectOption('developer');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.locator(`tr[data-member="${developer}"] select`)).toHaveValue('developer');

  // A robot account; its secret is shown once and copied.
  await page.getByRole('tab', { name: 'Robot accounts' }).click();
  await page.getByRole('button', { name: 'New robot account' }).click();
  await page.locator('input[name="robot-name"]').fill('ci');
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const secret = (await page.getByTestId('robot-secret').textContent())!.trim();
  expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
  await expect(page.getByTestId('robot-name')).toHaveText(`robot$${project}+ci`);
  await page.getByRole('button', { name: 'Copy secret' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await page.screenshot({ path: testInfo.outputPath('robot-secret.png') });
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator(`tr[data-robot="robot$${project}+ci"]`)).toContainText('Enabled');

  // The audit log shows each of these operations.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Project').fill(project);
  await page.getByLabel('Project').press('Enter');
  await page.getByLabel('Project').blur();
  const audit = page.locator('tbody');
  await expect(audit).toContainText('create project');
  await expect(audit).toContainText('create member');
  await expect(audit).toContainText(`user:${developer} (developer)`);
  await expect(audit).toContainText('create robot');
  await expect(audit).toContainText(`robot$${project}+ci`);
  await page.screenshot({ path: testInfo.outputPath('audit-log.png'), fullPage: true });

  // The developer sees the project but is not offered member or robot management.
  await signOut(page);
  await signIn(page, developer, developerPassword);
  await page.getByRole('link', { name: project }).click();
  await expect(page.getByRole('heading', { name: project })).toBeVisible();
  await page.getByRole('tab', { name: 'Members' }).click();
  await expect(page.locator(`tr[data-member="${developer}"]`)).toContainText('Developer');
  await expect(page.locator('form[data-testid="add-member"]')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await expect(page.locator('tbody select')).toHaveCount(0);
  await expect(page.getByRole('tab', { name: 'Robot accounts' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Administration' })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('developer-view.png'), fullPage: true });

  // And the server refuses it anyway when called directly.
  const res = await page.request.post(`/api/v2.0/projects/${project}/members`, {
    data: { role_id: 1, member_user: { username: developer } },
    headers: { origin: baseURL! },
  });
  expect(res.status()).toBe(403);
});

test('a wrong password is reported and does not sign in', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('invalid username or password');
  await expect(page).toHaveURL(/\/login$/);
});
