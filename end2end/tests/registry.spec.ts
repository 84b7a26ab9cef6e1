// The registry in the console: a pushed image appears under its project with its tags, digest,
// size and manifest; an administrator deletes a tag after confirming.
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

async function pushImage(request: APIRequestContext, repo: string, tags: string[]) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', history: [{ created_by: 'COPY hello /' }] }));
  const layer = Buffer.from('a layer of ' + repo);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBlob(request, repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBlob(request, repo, layer), size: layer.length }],
  }));
  for (const tag of tags) {
    const res = await request.put(`/v2/${repo}/manifests/${tag}`, {
      headers: { ...auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      data: manifest,
    });
    expect(res.status()).toBe(201);
  }
  return sha(manifest);
}

async function signIn(page: Page) {
  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
}

test('a pushed image is browsable in the console and a tag can be deleted', async ({ page, request }, testInfo) => {
  const project = `reg-${Date.now() % 100000}`;
  const res = await request.post('/api/v2.0/projects', { headers: auth, data: { project_name: project } });
  expect(res.status()).toBe(201);
  const digest = await pushImage(request, `${project}/web/app`, ['v1', 'stable']);

  await signIn(page);
  await page.getByRole('link', { name: project }).click();
  await expect(page.getByTestId('push-hint')).toContainText(`/${project}/<repository>:<tag>`);
  const row = page.locator(`tr[data-repository="${project}/web/app"]`);
  await expect(row).toContainText('1');
  await row.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/projects/${project}/repositories/web/app$`));

  const artifact = page.locator(`tr[data-artifact="${digest}"]`);
  await expect(artifact).toContainText('v1');
  await expect(artifact).toContainText('stable');
  await expect(artifact).toContainText(digest.slice(0, 19));
  await artifact.getByRole('link', { name: digest.slice(0, 19) }).click();
  const detail = page.getByTestId('artifact-detail');
  await expect(detail).toContainText('"schemaVersion": 2');
  await page.getByRole('tab', { name: 'Build history' }).click();
  await expect(detail).toContainText('COPY hello /');
  await page.screenshot({ path: testInfo.outputPath('artifact.png'), fullPage: true });
  await page.goBack();
  await page.goBack();

  await artifact.getByRole('button', { name: 'Delete tag stable' }).click();
  await expect(page.getByRole('dialog')).toContainText('Delete tag stable?');
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(artifact).not.toContainText('stable');
  await expect(artifact).toContainText('v1');
  const tags = await request.get(`/v2/${project}/web/app/tags/list`, { headers: auth });
  expect((await tags.json()).tags).toEqual(['v1']);
});
