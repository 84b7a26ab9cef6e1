// Lists keep their state in the URL: the audit log pages forward and back, survives a reload,
// filters by a field and clears its filters; Back returns to the previous state.
import { expect, test, type Page } from '@playwright/test';
import { adminPassword } from '../playwright.config';

async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

async function signIn(page: Page) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
  await hydrated(page);
}

test('the audit log pages forward and back, keeps its page on reload, and clears filters', async ({ page, request, baseURL }) => {
  // More than two pages of audit entries: every token grant is audited.
  const basic = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64');
  for (let i = 0; i < 30; i++) {
    const res = await request.get(`${baseURL}/service/token?service=berth&scope=repository:audit-${i}/x:pull`, {
      headers: { authorization: basic },
    });
    expect(res.status()).toBe(200);
  }
  await signIn(page);
  await page.goto('/audit');
  await hydrated(page);
  const pager = page.getByText(/^Page \d+ of \d+$/);
  await expect(pager).toHaveText(/^Page 1 of [2-9]\d*$/);
  const firstRow = page.locator('tbody tr').first();
  const firstOfPageOne = await firstRow.textContent();

  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/[?&]page=2/);
  await expect(pager).toHaveText(/^Page 2 of/);
  await expect(firstRow).not.toHaveText(firstOfPageOne!);
  const firstOfPageTwo = await firstRow.textContent();

  await page.reload();
  await hydrated(page);
  await expect(pager).toHaveText(/^Page 2 of/);
  await expect(firstRow).toHaveText(firstOfPageTwo!);

  await page.getByRole('button', { name: 'Previous' }).click();
  await expect(pager).toHaveText(/^Page 1 of/);
  await page.goBack();
  await expect(page).toHaveURL(/[?&]page=2/);
  await expect(pager).toHaveText(/^Page 2 of/);
  await page.goBack();
  await expect(pager).toHaveText(/^Page 1 of/);

  // A filter narrows the list and is in the URL; clearing it brings everything back.
  await page.getByLabel('Operation').fill('grant');
  await page.getByLabel('Operation').press('Enter');
  await expect(page).toHaveURL(/[?&]operation=grant/);
  await expect(page.locator('tbody tr').first()).toHaveAttribute('data-operation', 'grant');
  const operations = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-operation')));
  expect(new Set(operations)).toEqual(new Set(['grant']));
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/operation=grant.*page=2|page=2.*operation=grant/);
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).not.toHaveURL(/operation=/);
  await expect(page).not.toHaveURL(/page=/);
  await expect(pager).toHaveText(/^Page 1 of/);
  await expect(page.getByLabel('Operation')).toHaveValue('');
  const all = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-operation')));
  expect(new Set(all).size).toBeGreaterThan(1);
});
