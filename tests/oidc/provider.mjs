// A local OpenID Connect provider for Revmentor's SSO tests (never for production).
//
//   node tests/oidc/provider.mjs --port 4000 --issuer http://127.0.0.1:4000 \
//     [--redirect-uri http://testserver/auth/callback]
//
// The same settings can come from OIDC_PORT, OIDC_ISSUER and OIDC_REDIRECT_URI. Once the server
// accepts connections it prints one line: "listening on <issuer>".
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import { errors, Provider } from 'oidc-provider';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT },
    issuer: { type: 'string', default: process.env.OIDC_ISSUER },
    'redirect-uri': {
      type: 'string',
      default: process.env.OIDC_REDIRECT_URI ?? 'http://testserver/auth/callback',
    },
  },
});

const port = Number.parseInt(options.port ?? '', 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error('provider.mjs: give the port with --port N (or OIDC_PORT)');
  process.exit(2);
}
const issuer = options.issuer ?? `http://127.0.0.1:${port}`;

const API_RESOURCE = 'https://revmentor.test/api';
const WEB_CLIENT = 'revmentor-web';
const HRIS_CLIENT = 'revmentor-hris';

// Resource-server scopes each client may be granted for the API audience.
const apiScopes = {
  [WEB_CLIENT]: 'read',
  [HRIS_CLIENT]: 'hris:write scim read',
};

// Test accounts, looked up by the login name typed into the dev login form.
const accounts = {
  ada: {
    email: 'ada@example.com',
    email_verified: true,
    name: 'Ada Lovelace',
    given_name: 'Ada',
    family_name: 'Lovelace',
    employee_id: 'E-1001',
    groups: [],
  },
  grace: {
    email: 'grace@example.com',
    email_verified: true,
    name: 'Grace Hopper',
    given_name: 'Grace',
    family_name: 'Hopper',
    employee_id: 'E-1002',
    groups: ['revmentor-admins'],
  },
};

async function findAccount(_ctx, accountId) {
  const profile = accounts[accountId];
  if (!profile) return undefined;
  return {
    accountId,
    // The provider keeps only the claims the granted scopes and claims allow.
    async claims() {
      return { sub: accountId, ...profile };
    },
  };
}

// One RSA key for the life of the process, published at the jwks_uri.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `test-${randomBytes(6).toString('hex')}`,
  use: 'sig',
  alg: 'RS256',
};

const provider = new Provider(issuer, {
  findAccount,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'employee_id'],
    groups: ['groups'],
  },
  // Put the scope-granted claims (email, groups, ...) into the ID token itself.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  clients: [
    {
      client_id: WEB_CLIENT,
      client_secret: 'revmentor-web-secret',
      redirect_uris: [options['redirect-uri']],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid offline_access email profile groups',
    },
    {
      client_id: HRIS_CLIENT,
      client_secret: 'revmentor-hris-secret',
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
    },
  ],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Without a resource parameter the API is the resource: client-credentials tokens are
      // always for it, and a code-flow grant covers it, so the client gets an API token by
      // sending resource= at the token endpoint (otherwise an opaque userinfo token).
      async defaultResource(_ctx, _client, oneOf) {
        if (oneOf) return oneOf.includes(API_RESOURCE) ? API_RESOURCE : oneOf;
        return API_RESOURCE;
      },
      async getResourceServerInfo(_ctx, resourceIndicator, client) {
        if (resourceIndicator !== API_RESOURCE || !(client.clientId in apiScopes)) {
          throw new errors.InvalidTarget();
        }
        return {
          audience: API_RESOURCE,
          scope: apiScopes[client.clientId],
          accessTokenFormat: 'jwt',
          accessTokenTTL: 10 * 60,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // API access tokens for a person carry who they are (e-mail, employee id, groups), as
  // identity providers are set up to do for resource servers (Okta's claims, Entra's optional
  // claims): the API finds the employee from its own access token.
  async extraTokenClaims(_ctx, token) {
    if (!token.accountId || !(token.accountId in accounts)) return undefined;
    const { email, employee_id: employeeId, groups } = accounts[token.accountId];
    return { email, employee_id: employeeId, groups };
  },
  ttl: {
    AccessToken: 10 * 60,
    AuthorizationCode: 60,
    ClientCredentials: 10 * 60,
    IdToken: 10 * 60,
    Interaction: 10 * 60,
    Session: 60 * 60,
    Grant: 60 * 60,
    RefreshToken: 60 * 60,
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
