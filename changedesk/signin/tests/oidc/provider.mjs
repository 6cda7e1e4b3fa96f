// A real OpenID Connect provider (the `oidc-provider` package) for changedesk's sign-in
// tests: `node provider.mjs`, which listens on a free port of 127.0.0.1 and prints
// "READY <issuer>" once it answers. The tests (changedesk/signin/tests/oidc_provider.py) start it.
//
// - One client, `changedesk` (secret `changedesk-test-secret`), whose redirect URI is
//   REDIRECT_URI (default http://testserver/signin/oidc/callback/, the Django test client's).
// - Whoever signs in types any login, which is taken as their e-mail address; it is verified
//   (`email_verified: true`) unless its local part starts with "unverified".
// - The grant is given without a consent page (a first-party client).
// - `POST /_test/next-token?mode=wrong-audience|expired` makes the next token answer carry
//   an ID token that is wrong in that way, signed with the provider's own key: what a
//   relying party must refuse though the signature is good. `no-id-token` leaves the ID
//   token out, `not-a-jwt` sends one that is not a JWT.
import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const REDIRECT_URI = process.env.REDIRECT_URI || 'http://testserver/signin/oidc/callback/';
const CLIENT_ID = 'changedesk';
const CLIENT_SECRET = 'changedesk-test-secret';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

let nextMode = 'normal';

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['changedesk-test-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  // Claims in the ID token itself, as Google and Entra ID put them there.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const local = id.split('@')[0];
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: !local.startsWith('unverified'),
          name: `Test ${local}`,
          given_name: 'Test',
          family_name: local,
        };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'given_name', 'family_name']);
    await grant.save();
    return grant;
  },
});

// The wrong ID tokens, made from the right one and signed with the provider's key.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route !== 'token' || !ctx.body?.id_token || nextMode === 'normal') {
    return;
  }
  const mode = nextMode;
  nextMode = 'normal';
  if (mode === 'no-id-token' || mode === 'not-a-jwt') {
    const { id_token: _dropped, ...rest } = ctx.body;
    ctx.body = mode === 'no-id-token' ? rest : { ...rest, id_token: 'not.a.jwt' };
    return;
  }
  const claims = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'wrong-audience') {
    claims.aud = 'another-client';
    claims.azp = 'another-client';
  } else if (mode === 'expired') {
    claims.iat = now - 7200;
    claims.exp = now - 3600;
  }
  const key = await jose.importJWK(signingJwk, 'RS256');
  ctx.body = {
    ...ctx.body,
    id_token: await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid, typ: 'JWT' })
      .sign(key),
  };
});

const callback = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'POST' && url.pathname === '/_test/next-token') {
    nextMode = url.searchParams.get('mode') || 'normal';
    res.writeHead(204).end();
    return;
  }
  callback(req, res);
});

process.stdout.write(`READY ${issuer}\n`);
process.on('SIGTERM', () => { server.close(); process.exit(0); });
