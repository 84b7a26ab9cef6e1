// Tag retention in the console: editing a rule changes the live preview, and a dry run opens
// its result page without deleting anything.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { adminPassword } from '../playwright.config';

const auth = { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') };
const sha = (data: Buffer) => 'sha256:' + createHash('sha256').update(data).digest('hex');

async function pushBlob(request: APIRequestContext, repo: string, data: Buffer) {
  const digest = sha(data);
  const res = await request.post(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers: auth, data });
  expect(res.status()).toBe(201);
  return digest;
}

async function pushImage(request: APIRequestContext, repo: string, tag: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const layer = Buffer.from('a layer of ' + repo);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBlob(request, repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBlob(request, repo, layer), size: layer.length }],
  }));
  const res = await request.put(`/v2/${repo}/manifests/${tag}`, {
    headers: { ...auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    data: manifest,
  });
  expect(res.status()).toBe(201);
}

async function signIn(page: Page) {
  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
}

test('editing a retention rule changes the preview; a dry run shows its result page', async ({ page, request }, testInfo) => {
  const project = `ret-${Date.now() % 100000}`;
  expect((await request.post('/api/v2.0/projects', { headers: auth, data: { project_name: project } })).status()).toBe(201);
  for (const tag of ['v1', 'v2', 'v3']) await pushImage(request, `${project}/app`, tag);

  await signIn(page);
  await page.goto(`/projects/${project}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByRole('tab', { name: 'Tag retention' }).click();
  const summary = page.getByTestId('retention-preview-summary');
  await expect(page.getByTestId('retention-source')).toContainText('No rules');
  await expect(summary).toContainText('Keeps 0 · deletes 0');

  await page.getByRole('button', { name: 'Add rule' }).click();
  await expect(summary).toContainText('Keeps 3 · deletes 0');
  await page.getByLabel('Rule 1 count').fill('1');
  await expect(summary).toContainText('Keeps 1 · deletes 2');
  await expect(page.locator('tr[data-decision="v3"]')).toContainText('keep');
  await expect(page.locator('tr[data-decision="v1"]')).toContainText('delete');
  // Only v1 and v2 are selected now: v3, in the same repository, is kept by no rule.
  await page.getByLabel('Rule 1 tags').fill('v[12]');
  await page.getByLabel('Rule 1 tags').press('Tab');
  await expect(page.locator('tr[data-decision="v2"]')).toContainText('keep');
  await expect(page.locator('tr[data-decision="v3"]')).toContainText('no rule retains it');
  await page.getByLabel('Rule 1 count').fill('2');
  await expect(summary).toContainText('Keeps 2 · deletes 1');
  await page.screenshot({ path: testInfo.outputPath('retention-preview.png'), fullPage: true });

  await page.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('retention-source')).toContainText("This project's own rules");
  await page.getByRole('button', { name: 'Dry run' }).click();
  await page.waitForURL(new RegExp(`/projects/${project}/retention/\\d+$`));
  await expect(page.getByTestId('execution-title')).toContainText(`Dry run`);
  await expect(page.getByTestId('execution-summary')).toContainText('Keeps 2 · deletes 1');
  await expect(page.getByTestId('execution-summary')).toContainText('nothing was deleted');
  await expect(page.locator('tr[data-decision="v1"]')).toContainText('keep');
  await expect(page.locator('tr[data-decision="v3"]')).toContainText('delete');
  await page.screenshot({ path: testInfo.outputPath('retention-dry-run.png'), fullPage: true });

  const tags = await request.get(`/v2/${project}/app/tags/list`, { headers: auth });
  expect((await tags.json()).tags).toEqual(['v1', 'v2', 'v3']);
});
