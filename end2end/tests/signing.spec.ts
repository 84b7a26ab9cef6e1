// Image signing in the console: the project's Trust tab adds and removes a cosign key; the
// artifact list says Signed (by which key) / Invalid / Unsigned; the artifact page lists the
// signature with its key. Signatures are made here with Node's crypto, following cosign's
// simple signing format (independent of Berth's verifier).
import { expect, test, type APIRequestContext } from '@playwright/test';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { adminAuth, hydrated, pushBlob, pushImage, signIn } from './helpers';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/// cosign's tag scheme: `sha256-<hex>.sig` holding a simple signing payload for `digest`.
async function cosignSign(request: APIRequestContext, repo: string, digest: string, key: KeyObject) {
  const payload = Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': repo }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: null,
  }));
  const signature = sign('sha256', payload, key).toString('base64');
  const config = Buffer.from('{}');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBlob(request, repo, config), size: config.length },
    layers: [{
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: await pushBlob(request, repo, payload), size: payload.length,
      annotations: { 'dev.cosignproject.cosign/signature': signature },
    }],
  };
  const res = await request.put(`/v2/${repo}/manifests/sha256-${digest.slice(7)}.sig`, {
    headers: { ...adminAuth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    data: Buffer.from(JSON.stringify(manifest)),
  });
  expect(res.status()).toBe(201);
}

test('trust tab, signed column and the signature on the artifact page', async ({ page, request }) => {
  const project = `sig-${Date.now() % 100000}`;
  expect((await request.post('/api/v2.0/projects', { headers: adminAuth, data: { project_name: project } })).status()).toBe(201);
  const repo = `${project}/app`;
  const signed = await pushImage(request, repo, ['signed'], 'signed');
  const invalid = await pushImage(request, repo, ['invalid'], 'invalid');
  const unsigned = await pushImage(request, repo, ['unsigned'], 'unsigned');
  const trusted = keyPair();
  const stranger = keyPair();
  await cosignSign(request, repo, signed, trusted.privateKey);
  await cosignSign(request, repo, invalid, stranger.privateKey);

  await signIn(page);
  await page.goto(`/projects/${project}/trust`);
  await hydrated(page);
  const tab = page.getByTestId('trust');
  await expect(tab).toContainText('No keys or certificates are trusted');
  // A private key is refused with the reason, next to the form.
  await page.getByLabel('Anchor name').fill('oops');
  await page.getByLabel('Anchor PEM').fill(trusted.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  await page.getByRole('button', { name: 'Trust' }).click();
  await expect(page.getByRole('alert')).toContainText('private key');
  await page.getByLabel('Anchor name').fill('release');
  await page.getByLabel('Anchor PEM').fill(trusted.publicPem);
  await page.getByRole('button', { name: 'Trust' }).click();
  const row = tab.locator('tr[data-anchor="release"]');
  await expect(row).toContainText('ECDSA P-256');
  await expect(row).toContainText('sha256:');

  await page.goto(`/projects/${project}/repositories/app`);
  await hydrated(page);
  const cell = (digest: string) => page.locator(`tr[data-artifact="${digest}"] td[data-signed]`);
  await expect(cell(signed)).toHaveAttribute('data-signed', 'verified');
  await expect(cell(signed)).toContainText('Signed · release');
  await expect(cell(invalid)).toHaveAttribute('data-signed', 'invalid');
  await expect(cell(invalid)).toContainText('Invalid');
  await expect(cell(unsigned)).toContainText('Unsigned');
  // The signature artifacts are accessories, not rows of their own.
  await expect(page.locator('tr[data-artifact]')).toHaveCount(3);

  await page.goto(`/projects/${project}/repositories/app/artifacts/${signed}/accessories`);
  await hydrated(page);
  const sigs = page.getByTestId('signatures');
  await expect(sigs).toContainText('Verified');
  await expect(sigs.locator('[data-key="release"]')).toBeVisible();

  // Removing the key: the list says so at once.
  await page.goto(`/projects/${project}/trust`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Remove release' }).click();
  await expect(page.getByTestId('trust')).toContainText('No keys or certificates are trusted');
  await page.goto(`/projects/${project}/repositories/app`);
  await hydrated(page);
  await expect(cell(signed)).toHaveAttribute('data-signed', 'invalid');
});
