// Replication in the console: an administrator adds the second e2e Berth as a registry,
// tests it, creates a push rule, runs it, watches the execution finish and opens a task log;
// the image arrives byte for byte.
import { expect, test } from '@playwright/test';
import { adminPassword, oidcBaseURL } from '../playwright.config';
import { adminAuth, hydrated, pushImage, sha, signIn } from './helpers';

test('an administrator adds a registry, tests it, creates a rule, runs it and reads a task log', async ({ page, request }) => {
  // The remote's project exists: Berth never creates projects on a remote.
  const remoteProject = await request.post(`${oidcBaseURL}/api/v2.0/projects`, {
    headers: adminAuth, data: { project_name: 'replica' },
  });
  expect([201, 409]).toContain(remoteProject.status());
  const local = await request.post('/api/v2.0/projects', { headers: adminAuth, data: { project_name: 'repl-src' } });
  expect([201, 409]).toContain(local.status());
  const digest = await pushImage(request, 'repl-src/app', ['v1']);

  await signIn(page);
  await page.goto('/admin');
  await hydrated(page);
  const registries = page.getByTestId('registries');
  await registries.getByLabel('Registry name').fill('second');
  await registries.getByLabel('Registry URL').fill(oidcBaseURL);
  await registries.getByLabel('Access key').fill('admin');
  await registries.getByLabel('Access secret').fill(adminPassword);
  await registries.getByRole('button', { name: 'Add registry' }).click();
  const row = registries.locator('tr[data-registry="second"]');
  await expect(row).toBeVisible();
  await expect(row).not.toContainText(adminPassword);
  await row.getByRole('button', { name: 'Test' }).click();
  await expect(row).toContainText('healthy');

  const rules = page.getByTestId('replication-rules');
  await rules.getByLabel('Rule name').fill('to-second');
  await rules.getByLabel('Repository filter').fill('repl-src/**');
  await rules.getByLabel('Destination namespace').fill('replica');
  await rules.getByRole('button', { name: 'Create rule' }).click();
  const rule = rules.locator('tr[data-rule="to-second"]');
  await expect(rule).toBeVisible();
  await rule.getByRole('button', { name: 'Replicate' }).click();

  // The executions list follows the run by itself until it ends.
  const executions = page.getByTestId('replication-executions');
  const finished = executions.locator('tr[data-status="Succeed"]').first();
  await expect(finished).toBeVisible({ timeout: 20_000 });
  await expect(finished).toContainText('1 of 1 done');
  await finished.getByRole('button', { name: 'Tasks' }).click();
  const task = page.getByTestId('replication-tasks').locator('tr[data-task]').first();
  await expect(task).toContainText('Succeed');
  await expect(task).toContainText('repl-src/app:[v1]');
  const href = await task.getByRole('link', { name: 'Log' }).getAttribute('href');
  const log = await page.request.get(href!);
  expect(log.status()).toBe(200);
  expect(await log.text()).toContain('copied');

  const arrived = await request.get(`${oidcBaseURL}/v2/replica/app/manifests/v1`, {
    headers: { ...adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(arrived.status()).toBe(200);
  expect(sha(await arrived.body())).toBe(digest);
});
