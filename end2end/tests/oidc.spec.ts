// Single sign-on in a real browser against a real OpenID provider (`oidc-provider`, started by
// playwright.config.ts), on a Berth configured with the seed's `oidc:` block: first sign-in asks
// for a username once, the `harbor-admins` member is a system admin and the `developers` member
// is not, and the developer pushes with podman using their CLI secret but cannot delete.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { adminPassword, oidcBaseURL } from '../playwright.config';

test.use({ baseURL: oidcBaseURL });

async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

/** Login via the provider; returns where Berth landed. */
async function ssoSignIn(page: Page, login: string, password: string) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByRole('link', { name: 'Login via company_oidc' }).click();
  // The provider's own sign-in page, unless the provider still has a session for this browser.
  await page.waitForURL((url) => url.pathname.startsWith('/interaction/') || /^\/(oidc-onboard|projects)$/.test(url.pathname));
  if (new URL(page.url()).pathname.startsWith('/interaction/')) {
    await expect(page.getByRole('heading', { name: 'Test identity provider' })).toBeVisible();
    await page.getByLabel('Username').fill(login);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.waitForURL(/\/(oidc-onboard|projects)$/);
  await hydrated(page);
  return new URL(page.url()).pathname;
}

async function onboard(page: Page, prefilled: string, username: string) {
  await expect(page.getByTestId('onboard-form')).toBeVisible();
  await expect(page.getByLabel('Username')).toHaveValue(prefilled);
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/projects$/);
  await hydrated(page);
  await expect(page.getByTestId('current-user')).toHaveText(username);
}

async function signOut(page: Page) {
  await page.click('#user-menu-button');
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login\?signed_out=1$/);
}

function podman(root: string, args: string[]) {
  return execFileSync(
    'podman',
    ['--storage-driver=vfs', '--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

test('single sign-on: onboarding once, admin group, developer pushes with a CLI secret', async ({ browser, request }, testInfo) => {
  test.setTimeout(120_000);
  const host = new URL(oidcBaseURL).host;

  // Alice (harbor-admins): onboarding appears once, then she is a system admin.
  const alice = await browser.newPage();
  expect(await ssoSignIn(alice, 'alice', 'alice-password')).toBe('/oidc-onboard');
  await onboard(alice, 'alice@example.com', 'alice');
  await alice.getByRole('link', { name: 'Administration' }).click();
  await expect(alice.getByRole('cell', { name: 'alice', exact: true })).toBeVisible();
  await expect(alice.getByTestId('oidc-settings')).toContainText('company_oidc');
  await expect(alice.getByTestId('oidc-settings')).toContainText('•••••• (set)');
  await expect(alice.getByTestId('oidc-settings')).not.toContainText('e2e-oidc-client-secret');
  await alice.getByTestId('oidc-ping').click();
  await expect(alice.getByTestId('oidc-ping-result')).toContainText('signing key(s)');
  await alice.screenshot({ path: testInfo.outputPath('admin-oidc.png'), fullPage: true });
  await signOut(alice);
  // RP-initiated logout: the provider ends its session too, so the next sign-in asks again.
  await alice.getByRole('link', { name: 'Also sign out of company_oidc' }).click();
  await alice.getByRole('button', { name: /yes, sign me out/i }).click();
  await alice.waitForURL(/\/login$/);
  await hydrated(alice);
  await alice.getByRole('link', { name: 'Login via company_oidc' }).click();
  await expect(alice.getByRole('heading', { name: 'Test identity provider' })).toBeVisible();
  await alice.goto('/login');
  expect(await ssoSignIn(alice, 'alice', 'alice-password')).toBe('/projects');
  await expect(alice.getByTestId('current-user')).toHaveText('alice');

  // Bob (developers): onboarded, not an administrator.
  const bob = await browser.newPage();
  expect(await ssoSignIn(bob, 'bob', 'bob-password')).toBe('/oidc-onboard');
  await onboard(bob, 'bob@example.com', 'bob');
  await expect(bob.getByRole('link', { name: 'Administration' })).toHaveCount(0);
  await bob.goto('/admin');
  await hydrated(bob);
  await expect(bob.getByText('Administrators only')).toBeVisible();
  await expect(bob.getByTestId('oidc-settings')).toHaveCount(0);

  // A private project with the developers group as developer (via the API, as the local admin,
  // who keeps working under oidc_auth).
  const admin = { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') };
  const project = `sso-${Date.now() % 100000}`;
  expect((await request.post('/api/v2.0/projects', { headers: admin, data: { project_name: project, public: false } })).status()).toBe(201);
  const member = await request.post(`/api/v2.0/projects/${project}/members`, {
    headers: admin,
    data: { role_id: 2, member_group: { group_name: 'developers' } },
  });
  expect(member.status()).toBe(201);

  // Bob's CLI secret, from his profile.
  await bob.goto('/profile');
  await hydrated(bob);
  await expect(bob.getByTestId('cli-secret-expiry')).toContainText('no CLI secret yet');
  await bob.getByTestId('cli-secret-generate').click();
  const secret = (await bob.getByTestId('cli-secret-value').textContent())!.trim();
  expect(secret).toHaveLength(32);
  await expect(bob.getByTestId('cli-secret-expiry')).toContainText('expires');
  await bob.screenshot({ path: testInfo.outputPath('profile-cli-secret.png'), fullPage: true });

  // podman with the CLI secret: push works, delete does not.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-podman-'));
  const authfile = path.join(root, 'auth.json');
  const rootfs = path.join(root, 'rootfs');
  fs.mkdirSync(rootfs);
  fs.writeFileSync(path.join(rootfs, 'hello.txt'), `pushed by bob into ${project}\n`);
  execFileSync('tar', ['-cf', path.join(root, 'layer.tar'), '-C', rootfs, '.']);
  const image = `${host}/${project}/app:1`;
  podman(root, ['import', path.join(root, 'layer.tar'), image]);
  podman(root, ['login', '--authfile', authfile, '--tls-verify=false', '-u', 'bob', '-p', secret, host]);
  podman(root, ['push', '--authfile', authfile, '--tls-verify=false', image]);
  const bobAuth = { Authorization: 'Basic ' + Buffer.from(`bob:${secret}`).toString('base64') };
  const tags = await request.get(`/v2/${project}/app/tags/list`, { headers: bobAuth });
  expect(tags.status()).toBe(200);
  expect((await tags.json()).tags).toEqual(['1']);
  const head = await request.head(`/v2/${project}/app/manifests/1`, {
    headers: { ...bobAuth, Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  const digest = head.headers()['docker-content-digest'];
  expect(digest).toMatch(/^sha256:/);
  const del = await request.delete(`/v2/${project}/app/manifests/${digest}`, { headers: bobAuth });
  expect(del.status()).toBe(403);
  const apiDel = await request.delete(`/api/v2.0/projects/${project}/repositories/app`, { headers: bobAuth });
  expect(apiDel.status()).toBe(403);
  // The wrong secret is refused.
  expect(() => podman(root, ['login', '--authfile', authfile, '--tls-verify=false', '-u', 'bob', '-p', 'wrong', host])).toThrow();

  // In the console, Alice sees bob's push.
  await alice.goto(`/projects/${project}`);
  await hydrated(alice);
  await expect(alice.locator(`tr[data-repository="${project}/app"]`)).toBeVisible();
});
