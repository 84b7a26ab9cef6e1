// End-to-end tests: the release artifact `./scripts/run.sh` serves (built by
// `scripts/build-site.sh --release`, which finds its site beside itself) on free loopback
// ports, driven in Debian's Chromium. Screenshots of every test are kept in
// end2end/test-results.
import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const port = Number(process.env.BERTH_E2E_PORT ?? 18090);
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/berth/target');
// `BERTH_E2E_PROFILE=debug` runs against a debug build (scripts/build-site.sh) while iterating;
// the suite (scripts/test.sh) always runs the release artifact.
const berthBinary = path.join(targetDir, process.env.BERTH_E2E_PROFILE ?? 'release', 'berth');
/** The admin password the e2e server starts with; tests read it from here. */
export const adminPassword = 'E2e-Admin-Passw0rd';
const dataDir = process.env.BERTH_E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));

// A second Berth with single sign-on, configured with the seed's `oidc:` block as users paste
// it (only the endpoint changed), against a real OpenID provider (`oidc-provider`), and with
// the seed's `retention`, `immutable_tag_rules` and `storage_quota` blocks as given.
const oidcPort = Number(process.env.BERTH_E2E_OIDC_PORT ?? port + 1);
const idpPort = Number(process.env.BERTH_E2E_IDP_PORT ?? port + 2);
export const oidcBaseURL = `http://127.0.0.1:${oidcPort}`;
export const idpURL = `http://127.0.0.1:${idpPort}`;
const oidcSecret = 'e2e-oidc-client-secret';
const oidcDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-oidc-'));
const oidcConfig = path.join(oidcDataDir, 'berth.yml');
// A per-project policy file (configuration as code) declared in that configuration.
export const policyFileProject = 'payments';
const policyFile = path.join(oidcDataDir, 'payments.yml');
fs.writeFileSync(
  policyFile,
  `projects:
  - name: ${policyFileProject}
    storage_limit: 50GB
    immutable_tag_rules:
      - pattern: "v*"
        repositories: "api/**"
    retention:
      schedule: "0 3 * * *"
      rules:
        - rule: tag
          pattern: "v*"
          retain: 5
`,
);
fs.writeFileSync(
  oidcConfig,
  `hostname: 127.0.0.1
auth_mode: oidc_auth
oidc:
  name: company_oidc
  endpoint: ${idpURL}
  client_id: harbor
  client_secret: \${OIDC_SECRET}
  scope: openid,profile,email,groups
  verify_cert: true
  auto_onboard: false
  user_claim: email
  groups_claim: groups
  admin_group: harbor-admins
retention:
  - rule: tag
    pattern: "v*"
    retain: 10
  - rule: days
    pattern: "latest"
    retain: 7
  - rule: always
    pattern: "release-*"
immutable_tag_rules:
  - pattern: "release-*"
storage_quota:
  per_project: 100GB
  global: 10TB
policy_files:
  - ${policyFile}
`,
);

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: [{
    command: berthBinary,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      BERTH_HTTP__PORT: String(port),
      BERTH_HTTP__BIND: '127.0.0.1',
      BERTH_DATA_DIR: dataDir,
      RUST_LOG: 'info',
      BERTH_ADMIN_PASSWORD: adminPassword,
      // The replication test's remote is the second Berth on this host.
      BERTH_OUTBOUND__ALLOWED_NETWORKS: '[127.0.0.0/8]',
    },
  }, {
    command: `node ${path.join(__dirname, 'oidc', 'provider.mjs')}`,
    url: `${idpURL}/.well-known/openid-configuration`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      OIDC_PORT: String(idpPort),
      OIDC_CLIENT_ID: 'harbor',
      OIDC_CLIENT_SECRET: oidcSecret,
      OIDC_REDIRECT_URIS: `${oidcBaseURL}/c/oidc/callback`,
      OIDC_POST_LOGOUT: `${oidcBaseURL}/login`,
    },
  }, {
    command: berthBinary,
    url: `${oidcBaseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      BERTH_CONFIG: oidcConfig,
      BERTH_HTTP__PORT: String(oidcPort),
      BERTH_HTTP__BIND: '127.0.0.1',
      BERTH_DATA_DIR: oidcDataDir,
      RUST_LOG: 'info',
      BERTH_ADMIN_PASSWORD: adminPassword,
      OIDC_SECRET: oidcSecret,
    },
  }],
});
