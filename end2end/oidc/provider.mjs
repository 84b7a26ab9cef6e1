// A real OpenID provider for Berth's tests: the npm package `oidc-provider`, with three users,
// one client registered for Berth, and a small login page of our own (the package's development
// pages change between versions). Started by the Rust tests and by Playwright.
//
// Environment:
//   OIDC_PORT            port to listen on (loopback)
//   OIDC_ISSUER          issuer URL (default http(s)://127.0.0.1:$OIDC_PORT)
//   OIDC_CLIENT_ID       client registered for Berth (default berth)
//   OIDC_CLIENT_SECRET   its secret (default berth-secret)
//   OIDC_REDIRECT_URIS   comma-separated redirect URIs of Berth's /c/oidc/callback
//   OIDC_POST_LOGOUT     comma-separated post-logout redirect URIs (optional)
//   OIDC_TLS_CERT, OIDC_TLS_KEY  PEM files: serve HTTPS with this (self-signed) certificate
//
// Test controls (loopback only, not part of OpenID Connect):
//   POST /__test/fault?mode=none|other-key|expired|wrong-aud|bad-nonce
//        re-signs the next ID tokens with that defect, so Berth's verification can be tested
//        against answers a broken or hostile provider would give;
//   POST /__test/revoke?sub=<account>
//        refuses every later refresh of that account's tokens (invalid_grant), as a provider
//        does when the person's session was ended there.
//
// Prints "oidc-provider listening on <issuer>" when ready.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const port = Number(process.env.OIDC_PORT ?? 0);
const tls = process.env.OIDC_TLS_CERT && process.env.OIDC_TLS_KEY;
const issuer = process.env.OIDC_ISSUER ?? `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
const clientId = process.env.OIDC_CLIENT_ID ?? 'berth';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'berth-secret';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '').split(',').filter(Boolean);
const postLogout = (process.env.OIDC_POST_LOGOUT ?? '').split(',').filter(Boolean);

/** The people of this provider. Passwords are checked by the login page below. */
const USERS = {
  alice: {
    password: 'alice-password',
    claims: {
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Admin',
      preferred_username: 'alice',
      groups: ['harbor-admins', 'platform'],
    },
  },
  bob: {
    password: 'bob-password',
    claims: {
      email: 'bob@example.com',
      email_verified: true,
      name: 'Bob Developer',
      preferred_username: 'bob',
      groups: ['developers'],
    },
  },
  // Has no email: Berth configured with `user_claim: email` must refuse them clearly.
  carol: {
    password: 'carol-password',
    claims: { name: 'Carol Noemail', preferred_username: 'carol', groups: ['developers'] },
  },
};

const KID = 'berth-test-signing-key';
const signing = await generateKeyPair('RS256', { extractable: true });
const stranger = await generateKeyPair('RS256', { extractable: true });
const privateJwk = { ...(await exportJWK(signing.privateKey)), kid: KID, alg: 'RS256', use: 'sig' };

let fault = 'none';
const revoked = new Set();

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogout,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [privateJwk] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  // Put the requested claims into the ID token as most enterprise providers do; Berth also
  // reads the userinfo endpoint.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: { Session: 3600, Grant: 3600, RefreshToken: 3600, AccessToken: 600, IdToken: 600 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...user.claims }) };
  },
  // Consent is implied for Berth: grant what it asked for.
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups offline_access');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body style="font-family:sans-serif;max-width:24rem;margin:4rem auto">${body}</body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return querystring.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Test controls, the login page, and the fault injection around the token endpoint. */
provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/fault' && ctx.method === 'POST') {
    fault = String(ctx.query.mode ?? 'none');
    ctx.body = { fault };
    return;
  }
  if (ctx.path === '/__test/revoke' && ctx.method === 'POST') {
    revoked.add(String(ctx.query.sub));
    ctx.body = { revoked: [...revoked] };
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const uid = details.uid;
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = page(
        'Sign in',
        `<h1>Test identity provider</h1>
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" autocomplete="username" autofocus></label><br><br>
<label>Password <input name="password" type="password" autocomplete="current-password"></label><br><br>
<button type="submit">Sign in</button></form>`,
      );
      return;
    }
    const form = await readForm(ctx.req);
    const user = USERS[form.login];
    if (!user || user.password !== form.password) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Sign in', '<p id="error">Wrong username or password.</p>');
      return;
    }
    const redirectTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: String(form.login) } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(redirectTo);
    return;
  }
  if (ctx.path === '/token' && ctx.method === 'POST' && revoked.size > 0) {
    const form = await readForm(ctx.req);
    ctx.request.body = form;
    if (form.grant_type === 'refresh_token') {
      const token = await provider.RefreshToken.find(String(form.refresh_token));
      if (token && revoked.has(token.accountId)) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_grant', error_description: 'the session was ended at the provider' };
        return;
      }
    }
  }
  await next();
  if (ctx.path === '/token' && fault !== 'none' && ctx.body && ctx.body.id_token) {
    const claims = decodeJwt(ctx.body.id_token);
    const now = Math.floor(Date.now() / 1000);
    let key = signing.privateKey;
    if (fault === 'other-key') key = stranger.privateKey;
    if (fault === 'expired') {
      claims.iat = now - 7200;
      claims.exp = now - 3600;
    }
    if (fault === 'wrong-aud') claims.aud = 'some-other-client';
    if (fault === 'bad-nonce') claims.nonce = 'a-nonce-berth-never-sent';
    ctx.body = {
      ...ctx.body,
      id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(key),
    };
  }
});

const server = tls
  ? https.createServer(
      { cert: fs.readFileSync(process.env.OIDC_TLS_CERT), key: fs.readFileSync(process.env.OIDC_TLS_KEY) },
      provider.callback(),
    )
  : http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
