// The console as a finished product: every tab and artifact tab has its own URL (reload and
// Back keep it), field errors appear next to their field, destructive actions cannot happen
// without a confirmation, dialogs take the focus and close on Escape, the dark scheme renders,
// and axe-core finds no serious or critical violation on the main pages in either scheme.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { adminAuth, hydrated, pushImage, signIn } from './helpers';

const project = `fin-${Date.now() % 100000}`;
let digest = '';

test.beforeAll(async ({ request }) => {
  const res = await request.post('/api/v2.0/projects', { headers: adminAuth, data: { project_name: project } });
  expect(res.status()).toBe(201);
  digest = await pushImage(request, `${project}/web/app`, ['v1', 'stable']);
});

/// The vertical gap between an input and the message under it: next to the field, not a
/// toast in a corner.
async function gapBelow(page: Page, input: string, message: string) {
  const a = await page.locator(input).boundingBox();
  const b = await page.locator(message).boundingBox();
  expect(a && b).toBeTruthy();
  return { gap: b!.y - (a!.y + a!.height), dx: Math.abs(b!.x - a!.x) };
}

test('field errors appear next to the field they refuse', async ({ page }) => {
  // A wrong password: under the password field, the status is a client error, the form stays.
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  const answer = page.waitForResponse((r) => r.url().includes('/console/fn/login'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  expect((await answer).status()).toBe(401);
  const pwError = page.locator('[data-field-error="password"]');
  await expect(pwError).toContainText('invalid username or password');
  await expect(page.locator('input[name="password"]')).toHaveAttribute('aria-invalid', 'true');
  let where = await gapBelow(page, 'input[name="password"]', '[data-field-error="password"]');
  expect(where.gap).toBeGreaterThanOrEqual(-2);
  expect(where.gap).toBeLessThan(40);
  await expect(page).toHaveURL(/\/login/);

  // An invalid project name: under the name field of the dialog, which stays open.
  await signIn(page);
  await page.getByRole('button', { name: 'New project' }).click();
  await page.locator('input[name="project-name"]').fill('Bad Name!');
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const nameError = page.locator('[data-field-error="project_name"]');
  await expect(nameError).toBeVisible();
  await expect(nameError).toContainText(/./);
  where = await gapBelow(page, 'input[name="project-name"]', '[data-field-error="project_name"]');
  expect(where.gap).toBeLessThan(40);
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toHaveCount(0);

  // An invalid retention pattern: under that rule, naming the rule's field.
  await page.goto(`/projects/${project}/retention`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Add rule' }).click();
  const tags = page.getByLabel('Rule 1 tags');
  await tags.fill('v[1');
  await tags.press('Tab');
  await page.getByRole('button', { name: 'Save rules' }).click();
  const ruleError = page.locator('[data-field-error="rules[0].tags"]');
  await expect(ruleError).toContainText('tag pattern');
  const rule = await page.locator('[data-rule="0"]').boundingBox();
  const msg = await ruleError.boundingBox();
  expect(msg!.y).toBeGreaterThan(rule!.y);
  expect(msg!.y + msg!.height).toBeLessThanOrEqual(rule!.y + rule!.height + 1);
});

test('project tabs and artifact tabs have their own URL: reload and Back keep them', async ({ page }) => {
  await signIn(page);
  await page.goto(`/projects/${project}`);
  await hydrated(page);
  await expect(page.getByRole('tab', { name: 'Repositories' })).toHaveAttribute('aria-selected', 'true');
  await page.getByRole('tab', { name: 'Members' }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/${project}/members$`));
  await expect(page.getByRole('tab', { name: 'Members' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tabpanel')).toContainText('admin');
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('tab', { name: 'Members' })).toHaveAttribute('aria-selected', 'true');
  await page.getByRole('tab', { name: 'Tag retention' }).click();
  await expect(page).toHaveURL(/\/retention$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/members$/);
  await expect(page.getByRole('tab', { name: 'Members' })).toHaveAttribute('aria-selected', 'true');

  // The artifact is a page of its own, reached from its repository's list.
  await page.goto(`/projects/${project}/repositories/web/app`);
  await hydrated(page);
  await page.locator(`tr[data-artifact="${digest}"]`).getByRole('link', { name: digest.slice(0, 19) }).click();
  await expect(page).toHaveURL(new RegExp(`/artifacts/${digest}$`));
  await expect(page.getByRole('tab', { name: 'Overview' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('artifact-overview')).toContainText('linux/amd64');
  await expect(page.getByTestId('pull-commands')).toContainText(`/${project}/web/app@${digest}`);
  await expect(page.getByTestId('pull-commands')).toContainText(`/${project}/web/app:stable`);

  await page.getByRole('tab', { name: 'Layers' }).click();
  await expect(page).toHaveURL(new RegExp(`/artifacts/${digest}/layers$`));
  await expect(page.getByTestId('layers').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('layers')).toContainText('COPY hello /');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('layers')).toContainText('COPY hello /');
  await page.getByRole('tab', { name: 'Build history' }).click();
  await expect(page.getByTestId('build-history')).toContainText('COPY hello /');
  await page.goBack();
  await expect(page).toHaveURL(/\/layers$/);
  await expect(page.getByTestId('layers')).toBeVisible();

  // A tag added on the artifact's page is a tag of the registry.
  await page.goto(`/projects/${project}/repositories/web/app/artifacts/${digest}`);
  await hydrated(page);
  await page.getByLabel('New tag').fill('from-console');
  await page.getByRole('button', { name: 'Add tag' }).click();
  await expect(page.locator('[data-tag="from-console"]')).toBeVisible();
  // A tag that already exists is refused next to the field.
  await page.getByLabel('New tag').fill('v1');
  await page.getByRole('button', { name: 'Add tag' }).click();
  await expect(page.locator('[data-testid="form-error"], [data-field-error="tag"]').first()).toContainText('already exists');
});

test('destructive actions need a confirmation; the gravest need the name typed', async ({ page, request }) => {
  await signIn(page);
  await page.goto(`/projects/${project}/repositories/web/app`);
  await hydrated(page);
  const row = page.locator(`tr[data-artifact="${digest}"]`);
  // Deleting an artifact asks first; the dialog has the focus; Escape and Cancel keep it.
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Delete artifact');
  await expect.poll(() => page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]'))).toBe(true);
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  expect((await request.get(`/v2/${project}/web/app/manifests/${digest}`, {
    headers: { ...adminAuth, Accept: 'application/vnd.oci.image.manifest.v1+json' },
  })).status()).toBe(200);

  // Deleting the repository needs its name typed: the button stays disabled until then.
  await page.getByRole('button', { name: 'Delete repository' }).click();
  const go = dialog.getByRole('button', { name: 'Delete repository' });
  await expect(go).toBeDisabled();
  await dialog.getByLabel(/Type/).fill('web/ap');
  await expect(go).toBeDisabled();
  await dialog.getByLabel(/Type/).fill('web/app');
  await expect(go).toBeEnabled();
  await page.keyboard.press('Escape');

  // Removing a member and deleting a robot ask first too.
  await request.post('/api/v2.0/users', { headers: adminAuth, data: { username: `m-${project}`, email: `m-${project}@example.com`, password: 'Member-Passw0rd', realname: 'M' } });
  await request.post(`/api/v2.0/projects/${project}/members`, { headers: adminAuth, data: { role_id: 3, member_user: { username: `m-${project}` } } });
  await page.goto(`/projects/${project}/members`);
  await hydrated(page);
  await page.locator(`tr[data-member="m-${project}"]`).getByRole('button', { name: 'Remove' }).click();
  await expect(dialog).toContainText(`Remove m-${project}`);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator(`tr[data-member="m-${project}"]`)).toBeVisible();
  await page.locator(`tr[data-member="m-${project}"]`).getByRole('button', { name: 'Remove' }).click();
  await dialog.getByRole('button', { name: 'Remove' }).click();
  await expect(page.locator(`tr[data-member="m-${project}"]`)).toHaveCount(0);

  // Deleting the project needs its name typed, and is refused while it holds repositories.
  await page.goto(`/projects/${project}/settings`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Delete project' }).click();
  await expect(dialog.getByRole('button', { name: 'Delete project' })).toBeDisabled();
  await dialog.getByLabel(/Type/).fill(project);
  await dialog.getByRole('button', { name: 'Delete project' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'still holds' })).toBeVisible();
  expect((await request.get(`/api/v2.0/projects/${project}`, { headers: adminAuth })).status()).toBe(200);
});

const mainPages = () => [
  ['projects', '/projects'],
  ['project', `/projects/${project}`],
  ['members', `/projects/${project}/members`],
  ['retention', `/projects/${project}/retention`],
  ['repository', `/projects/${project}/repositories/web/app`],
  ['artifact', `/projects/${project}/repositories/web/app/artifacts/${digest}`],
  ['layers', `/projects/${project}/repositories/web/app/artifacts/${digest}/layers`],
  ['admin', '/admin'],
  ['audit', '/audit'],
  ['profile', '/profile'],
];

for (const scheme of ['light', 'dark'] as const) {
  test(`main pages in the ${scheme} scheme: screenshots at 1440×900 and 1280×720, no serious axe violation`, async ({ page }, testInfo) => {
    test.setTimeout(120_000);
    await page.emulateMedia({ colorScheme: scheme });
    await signIn(page);
    const problems: string[] = [];
    for (const [name, url] of mainPages()) {
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.goto(url);
      await hydrated(page);
      await page.waitForLoadState('networkidle');
      // The page is drawn in the scheme asked for.
      const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g)!.map(Number);
      const light = (r + g + b) / 3 > 128;
      expect(light, `${name}: background ${bg}`).toBe(scheme === 'light');
      await page.screenshot({ path: testInfo.outputPath(`${name}-${scheme}-1440.png`), fullPage: true });
      const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      for (const v of axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
        problems.push(`${name} (${scheme}): ${v.id} — ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
      }
      await page.setViewportSize({ width: 1280, height: 720 });
      await page.screenshot({ path: testInfo.outputPath(`${name}-${scheme}-1280.png`), fullPage: true });
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
}

test('the scheme switch turns the console dark and is remembered by the server', async ({ page }, testInfo) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await signIn(page);
  await page.getByTestId('theme-switch').selectOption('dark');
  await expect(page.locator('html')).toHaveClass(/\bdark\b/);
  await page.reload();
  // Rendered dark by the server (the cookie), before any script runs.
  const html = await (await page.request.get('/projects')).text();
  expect(html).toMatch(/<html[^>]*class="[^"]*\bdark\b/);
  await hydrated(page);
  await expect(page.getByTestId('theme-switch')).toHaveValue('dark');
  const card = await page.evaluate(() => getComputedStyle(document.querySelector('main .rounded-lg')!).backgroundColor);
  const [r, g, b] = card.match(/\d+/g)!.map(Number);
  expect((r + g + b) / 3).toBeLessThan(80);
  await page.screenshot({ path: testInfo.outputPath('projects-dark-switch.png'), fullPage: true });
  await page.getByTestId('theme-switch').selectOption('system');
  await expect(page.locator('html')).not.toHaveClass(/\bdark\b/);
});

test('labels end to end: made in the console, attached to an artifact, filtered by, selected by retention', async ({ page, request }) => {
  const p = `lbl-${Date.now() % 100000}`;
  expect((await request.post('/api/v2.0/projects', { headers: adminAuth, data: { project_name: p } })).status()).toBe(201);
  const approved = await pushImage(request, `${p}/svc`, ['v1'], 'approved');
  const other = await pushImage(request, `${p}/svc`, ['v2'], 'other');
  await signIn(page);

  // A global label on the administration page, a project label on the project's settings.
  await page.goto('/admin');
  await hydrated(page);
  const globalEditor = page.getByTestId('labels-editor');
  await globalEditor.getByLabel('Name').fill(`global-${p}`);
  await globalEditor.getByRole('button', { name: 'Add label' }).click();
  await expect(globalEditor.locator(`[data-label-row="global-${p}"]`)).toBeVisible();
  await page.goto(`/projects/${p}/settings`);
  await hydrated(page);
  const editor = page.getByTestId('labels-editor');
  await editor.getByLabel('Name').fill('approved');
  await editor.getByRole('button', { name: 'Add label' }).click();
  await expect(editor.locator('[data-label-row="approved"]')).toBeVisible();
  // A blank name is refused next to the field.
  await editor.getByLabel('Name').fill(' ');
  await editor.getByRole('button', { name: 'Add label' }).click();
  await expect(editor.locator('[data-field-error="name"]')).toBeVisible();

  // Attached on the artifact's page; it shows in the list and the list filters by it.
  await page.goto(`/projects/${p}/repositories/svc/artifacts/${approved}`);
  await hydrated(page);
  await page.getByTestId('add-label').selectOption({ label: 'approved' });
  await expect(page.getByTestId('artifact-labels').locator('[data-label="approved"]')).toBeVisible();
  const api = await request.get(`/api/v2.0/projects/${p}/repositories/svc/artifacts/${approved}`, { headers: adminAuth });
  expect((await api.json()).labels.map((l: { name: string }) => l.name)).toEqual(['approved']);
  await page.goto(`/projects/${p}/repositories/svc`);
  await hydrated(page);
  await expect(page.locator('tr[data-artifact]')).toHaveCount(2);
  await page.getByTestId('label-filter').selectOption({ label: 'approved' });
  await expect(page).toHaveURL(/[?&]label=\d+/);
  await expect(page.locator('tr[data-artifact]')).toHaveCount(1);
  await expect(page.locator(`tr[data-artifact="${approved}"]`)).toContainText('approved');
  await expect(page.locator(`tr[data-artifact="${other}"]`)).toHaveCount(0);

  // A retention rule that keeps what is labelled approved: the preview keeps it, deletes v2.
  await page.goto(`/projects/${p}/retention`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Rule 1 template').selectOption('always');
  await page.getByLabel('Rule 1 labels').fill('approved');
  await page.getByLabel('Rule 1 labels').press('Tab');
  await expect(page.getByTestId('retention-preview-summary')).toContainText('Keeps 1');
  await expect(page.getByTestId('retention-preview-summary')).toContainText('deletes 1');
});

test('robot accounts: permissions edited, secret refreshed, and system robots', async ({ page, request }) => {
  const p = `rob-${Date.now() % 100000}`;
  expect((await request.post('/api/v2.0/projects', { headers: adminAuth, data: { project_name: p } })).status()).toBe(201);
  await signIn(page);
  await page.goto(`/projects/${p}/robots`);
  await hydrated(page);
  await page.getByRole('button', { name: 'New robot account' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('input[name="robot-name"]').fill('scanner');
  await dialog.getByLabel('repository:push').uncheck();
  await dialog.getByLabel('scan:create').check();
  await dialog.getByRole('button', { name: 'Create' }).click();
  const first = (await page.getByTestId('robot-secret').textContent())!.trim();
  await page.getByRole('button', { name: 'Done' }).click();
  const row = page.locator(`tr[data-robot="robot$${p}+scanner"]`);
  await expect(row).toContainText('scan:create');
  await expect(row).not.toContainText('repository:push');

  // Edit: a description and one more permission.
  await row.getByRole('button', { name: 'Edit' }).click();
  await dialog.locator('input[name="robot-description"]').fill('nightly scans');
  await dialog.getByLabel('artifact:list').check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(row).toContainText('nightly scans');
  await expect(row).toContainText('artifact:list');

  // Refresh the secret (after a confirmation): the old one stops working, the new one works.
  await row.getByRole('button', { name: 'Refresh secret' }).click();
  await dialog.getByRole('button', { name: 'Refresh secret' }).click();
  const second = (await page.getByTestId('robot-secret').textContent())!.trim();
  expect(second).not.toBe(first);
  const basic = (s: string) => ({ Authorization: 'Basic ' + Buffer.from(`robot$${p}+scanner:${s}`).toString('base64') });
  expect((await request.get(`/service/token?service=berth&scope=repository:${p}/x:pull`, { headers: basic(first) })).status()).toBe(401);
  expect((await request.get(`/service/token?service=berth&scope=repository:${p}/x:pull`, { headers: basic(second) })).status()).toBe(200);
  await page.getByRole('button', { name: 'Done' }).click();

  // System robots live on the administration page.
  await page.goto('/admin');
  await hydrated(page);
  const system = page.getByTestId('system-robots');
  await system.getByRole('button', { name: 'New robot account' }).click();
  await dialog.locator('input[name="robot-name"]').fill(`ci-${p}`);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('robot-name')).toHaveText(`robot$ci-${p}`);
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(system.locator(`tr[data-robot="robot$ci-${p}"]`)).toContainText('repository:push');
});
