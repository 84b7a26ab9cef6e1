// What several end-to-end tests share: signing in, waiting for hydration, pushing images
// through the registry API, and finding what a layout cuts off.
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { adminPassword } from '../playwright.config';

export const adminAuth = { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') };
export const sha = (data: Buffer) => 'sha256:' + createHash('sha256').update(data).digest('hex');

export async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

export async function signIn(page: Page, username = 'admin', password = adminPassword) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/projects$/);
  await hydrated(page);
}

export async function pushBlob(request: APIRequestContext, repo: string, data: Buffer) {
  const digest = sha(data);
  const res = await request.post(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers: adminAuth, data });
  expect(res.status()).toBe(201);
  return digest;
}

/// An image (one small layer) pushed under each of `tags`; returns its digest.
export async function pushImage(request: APIRequestContext, repo: string, tags: string[], seed = repo) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed, history: [{ created_by: 'COPY hello /' }] }));
  const layer = Buffer.from('a layer of ' + seed);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBlob(request, repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBlob(request, repo, layer), size: layer.length }],
  }));
  for (const tag of tags) {
    const res = await request.put(`/v2/${repo}/manifests/${tag}`, {
      headers: { ...adminAuth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      data: manifest,
    });
    expect(res.status()).toBe(201);
  }
  return sha(manifest);
}

/// Table cells and buttons that the layout makes unreachable: cut off by an ancestor that hides
/// overflow, or beyond the page's width while the page itself does not scroll to them. Each is
/// described as `tag "text" (right edge > limit)`.
export async function unreachable(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const pageRight = Math.max(document.documentElement.scrollWidth, window.innerWidth);
    for (const el of Array.from(document.querySelectorAll('td, th, button'))) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 && rect.height === 0) continue; // not displayed
      const name = `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 40)}"`;
      let inScroller = false;
      for (let a = el.parentElement; a; a = a.parentElement) {
        const style = getComputedStyle(a);
        if (style.overflowX === 'hidden' || style.overflowX === 'clip') {
          const box = a.getBoundingClientRect();
          if (rect.right > box.right + 1 || rect.left < box.left - 1) {
            out.push(`${name} cut off by ${a.tagName.toLowerCase()}.${a.className} (${Math.round(rect.right)} > ${Math.round(box.right)})`);
          }
          break;
        }
        if (style.overflowX === 'auto' || style.overflowX === 'scroll') {
          inScroller = true; // reachable by scrolling its container
          break;
        }
      }
      if (!inScroller && rect.right + window.scrollX > pageRight + 1) out.push(`${name} beyond the page (${Math.round(rect.right)})`);
    }
    return out;
  });
}
