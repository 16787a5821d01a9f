// A real OpenID provider for the tests: oidc-provider on loopback, its clients and accounts
// read from the JSON file named on the command line (written by tests/fixtures/oidc.py).
// Prints "READY <issuer>" once it listens. Its login form (devInteractions) takes any login
// that names an account.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${cfg.port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'ES256', use: 'sig' };

const accounts = cfg.accounts; // id -> {email, name, groups}
const provider = new Provider(issuer, {
  clients: cfg.clients.map((c) => ({ id_token_signed_response_alg: 'ES256', ...c })),
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  pkce: { required: () => true },
  conformIdTokenClaims: false, // the ID token carries the profile claims (groups), as most providers can be set to
  claims: { openid: ['sub'], profile: ['name', 'email', 'groups'] },
  scopes: ['openid', 'profile', 'offline_access', 'modelyard'],
  ttl: { AccessToken: cfg.accessTokenTtl ?? 600, IdToken: 600, Session: 600, Grant: 600, Interaction: 600 },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:modelyard',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => (resource === cfg.serveAudience
        // the inference servers: tokens carry predict:<endpoint> and serve:admin scopes
        ? { scope: cfg.serveScopes, audience: resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }
        : {
          scope: 'modelyard openid profile',
          audience: 'urn:modelyard',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
    },
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: () => ({ sub: id, name: account.name, email: account.email, groups: account.groups }),
    };
  },
  async extraTokenClaims(ctx, token) {
    const account = token.accountId && accounts[token.accountId];
    if (account) return { groups: account.groups };
    const client = cfg.clients.find((c) => c.client_id === token.clientId);
    return client && client.groups ? { groups: client.groups } : undefined;
  },
  async loadExistingGrant(ctx) {
    // consent is implied: the tests log in, they do not click "allow"
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile modelyard');
    grant.addOIDCClaims(['name', 'email', 'groups']);
    grant.addResourceScope('urn:modelyard', 'modelyard openid profile');
    await grant.save();
    return grant;
  },
});
provider.listen(cfg.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${issuer}\n`);
});
