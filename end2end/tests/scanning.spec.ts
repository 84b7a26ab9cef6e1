// Vulnerability scanning in the console: an administrator imports a real OSV advisory through
// the upload, an image is pushed into a project that scans on push, the scan finishes while the
// repository page is open, and the artifact's vulnerability table filters to Critical.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminPassword } from '../playwright.config';

const auth = { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') };
const sha = (data: Buffer) => 'sha256:' + createHash('sha256').update(data).digest('hex');
// The shared advisories, read in place.
const osv = path.join(__dirname, '..', '..', '..', 'shared', 'vulndb', 'osv', 'crates.io');

/** A tar archive (ustar) holding one regular file. */
function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 8, 'ascii');
  header.write('0000000\0', 108, 8, 'ascii');
  header.write('0000000\0', 116, 8, 'ascii');
  header.write(content.length.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  header.write('00000000000\0', 136, 12, 'ascii');
  header.write('        ', 148, 8, 'ascii');
  header.write('0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

async function pushBlob(request: APIRequestContext, repo: string, data: Buffer) {
  const digest = sha(data);
  const res = await request.post(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers: auth, data });
  expect(res.status()).toBe(201);
  return digest;
}

async function pushImage(request: APIRequestContext, repo: string, tag: string, layer: Buffer) {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] },
  }));
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

test('push an image, watch the scan finish, filter its vulnerabilities to Critical', async ({ page, request }, testInfo) => {
  test.skip(!fs.existsSync(osv), `the shared advisories are absent at ${osv}`);
  // One advisory through the REST API, one through the console's upload.
  const medium = fs.readFileSync(path.join(osv, 'RUSTSEC-2020-0078.json'));
  const imported = await request.post('/api/v2.0/vulndb/import', {
    headers: { ...auth, 'Content-Type': 'application/octet-stream' }, data: medium,
  });
  expect(imported.status()).toBe(200);

  await signIn(page);
  await page.goto('/admin');
  await page.waitForSelector('body[data-hydrated="true"]');
  const vulndb = page.getByTestId('vulndb');
  await vulndb.getByLabel('OSV file').setInputFiles(path.join(osv, 'RUSTSEC-2021-0003.json'));
  await vulndb.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByText(/Imported: (1 new|0 new, 1 updated|0 new, 0 updated, 1 unchanged)/)).toBeVisible();
  await expect(vulndb.locator('tr[data-ecosystem="crates.io"]')).toBeVisible();
  await expect(page.getByTestId('scanners')).toContainText('Berth (built-in)');

  const project = `scan-${Date.now() % 100000}`;
  const created = await request.post('/api/v2.0/projects', {
    headers: auth, data: { project_name: project, metadata: { auto_scan: 'true' } },
  });
  expect(created.status()).toBe(201);
  await page.goto(`/projects/${project}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByRole('tab', { name: 'Vulnerability' }).click();
  await expect(page.getByTestId('vuln-settings').getByLabel('Scan images automatically when they are pushed')).toBeChecked();

  // smallvec 1.0.0 is in RUSTSEC-2021-0003's range (Critical, CVSS 9.8); net2 0.2.33 in
  // RUSTSEC-2020-0078's (Medium, 5.5).
  const lock = Buffer.from(`version = 3

[[package]]
name = "net2"
version = "0.2.33"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "smallvec"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
`);
  const digest = await pushImage(request, `${project}/app`, 'v1', tarOf('app/Cargo.lock', lock));

  await page.goto(`/projects/${project}/repositories/app`);
  await page.waitForSelector('body[data-hydrated="true"]');
  const row = page.locator(`tr[data-artifact="${digest}"]`);
  // The page refreshes itself while the scan is queued or running.
  await expect(row.getByTestId('scan-status')).toHaveAttribute('data-status', 'Success', { timeout: 30_000 });
  await expect(row.getByTestId('scan-status')).toContainText('1 Critical');
  await page.screenshot({ path: testInfo.outputPath('scan-finished.png'), fullPage: true });

  await row.locator('td').first().getByRole('link').click();
  await page.getByRole('tab', { name: 'Vulnerabilities' }).click();
  const table = page.getByTestId('vuln-table');
  await expect(table.locator('tr[data-vuln]')).toHaveCount(2);
  await page.getByTestId('vuln-severity').selectOption('Critical');
  await expect(table.locator('tr[data-vuln]')).toHaveCount(1);
  await expect(table.locator('tr[data-vuln="RUSTSEC-2021-0003"]')).toHaveAttribute('data-severity', 'Critical');
  await expect(table).not.toContainText('net2');
  await page.screenshot({ path: testInfo.outputPath('vulnerabilities-critical.png'), fullPage: true });

  await expect(page).toHaveURL(/severity=Critical/);
  await expect(page.getByTestId('vuln-breakdown')).toContainText('1 Critical');

  // A manual rescan from the repository page goes back through the queue to a result.
  await page.goto(`/projects/${project}/repositories/app`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await row.getByTestId('scan-button').click();
  await expect(row.getByTestId('scan-status')).toHaveAttribute('data-status', 'Success', { timeout: 30_000 });
});
