import {createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, randomUUID, sign, verify} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {promisify} from 'node:util'

import {header, readBody, sendJson} from './http.js'
import {eq, type Principal, type StateStore} from './state.js'

/**
 * The token service: OAuth2 client credentials (v2 `/{tenant}/oauth2/v2.0/token`, v1
 * `/{tenant}/oauth2/token`, ADFS `/adfs/oauth2/token`), OIDC discovery (tenant v2, v1 and the
 * ADFS form), instance discovery and a JWKS. Tokens are RS256 JWTs carrying aud, iss, tid, oid,
 * appid, iat, nbf and exp, signed with a key kept in the state directory.
 */

export interface TokenClaims {
  aud: string
  iss: string
  tid: string
  oid: string
  appid: string
  azp: string
  sub: string
  iat: number
  nbf: number
  exp: number
  ver: string
  idtyp: string
  roles?: string[]
}

export type VerifyResult =
  | {ok: true; claims: TokenClaims; principal: Principal}
  | {ok: false; code: 'InvalidAuthenticationToken' | 'ExpiredAuthenticationToken' | 'InvalidAuthenticationTokenAudience' | 'InvalidAuthenticationTokenTenant'; message: string}

export interface SigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
  kid: string
}

/** Loads the signing key from `file`, or makes one (and saves it when `file` is given). */
export async function loadSigningKey(file?: string): Promise<SigningKey> {
  let pem: string
  if (file && existsSync(file)) {
    pem = readFileSync(file, 'utf8')
  } else {
    const {privateKey} = await promisify(generateKeyPair)('rsa', {modulusLength: 2048})
    pem = privateKey.export({type: 'pkcs8', format: 'pem'}) as string
    if (file) writeFileSync(file, pem, {mode: 0o600})
  }
  const privateKey = createPrivateKey(pem)
  const publicKey = createPublicKey(privateKey)
  const der = publicKey.export({type: 'spki', format: 'der'})
  const {createHash} = await import('node:crypto')
  const kid = createHash('sha256').update(der).digest('base64url').slice(0, 27)
  return {privateKey, publicKey, kid}
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Audiences ARM accepts besides its own URL (arm-surface.md, issue 3 "Known to work"). */
const WELL_KNOWN_ARM_AUDIENCES = ['https://management.azure.com', 'https://management.core.windows.net']

export interface TokenServiceOptions {
  state: StateStore
  key: SigningKey
  /** e.g. https://127.0.0.1:PORT (no trailing slash) */
  baseUrl: () => string
  lifetimeSeconds?: number
  now?: () => number
}

export class TokenService {
  /** Access tokens handed out by the token endpoint (sign-ins), since start; tests print it. */
  signIns = 0

  constructor(private readonly options: TokenServiceOptions) {}

  private now(): number {
    return Math.floor((this.options.now ?? Date.now)() / 1000)
  }

  get tenantId(): string {
    return this.options.state.data.tenantId
  }

  principalByClientId(clientId: string): Principal | undefined {
    const {contributor, reader} = this.options.state.data.principals
    return [contributor, reader].find((p) => eq(p.clientId, clientId))
  }

  /** Issues an access token (tests may ask for odd lifetimes or audiences). */
  issue(options: {principal: Principal; audience: string; lifetimeSeconds?: number; version?: '1.0' | '2.0'; key?: SigningKey}): {token: string; claims: TokenClaims} {
    const now = this.now()
    const lifetime = options.lifetimeSeconds ?? this.options.lifetimeSeconds ?? 3600
    const claims: TokenClaims = {
      aud: options.audience,
      iss: `${this.options.baseUrl()}/${this.tenantId}/`,
      tid: this.tenantId,
      oid: options.principal.objectId,
      appid: options.principal.clientId,
      azp: options.principal.clientId,
      sub: options.principal.objectId,
      iat: now,
      nbf: now - 300,
      exp: now + lifetime,
      ver: options.version ?? '1.0',
      idtyp: 'app',
      roles: [options.principal.role],
    }
    const key = options.key ?? this.options.key
    const head = b64({typ: 'JWT', alg: 'RS256', kid: key.kid, x5t: key.kid})
    const body = b64(claims)
    const signature = sign('sha256', Buffer.from(`${head}.${body}`), key.privateKey).toString('base64url')
    return {token: `${head}.${body}.${signature}`, claims}
  }

  /**
   * Validates a bearer token for ARM: signature, expiry (no skew beyond nbf), audience.
   * `earlySeconds` (the `arm.expireTokensEarly` fault) moves the expiry that much before `exp`.
   */
  verify(token: string, armUrl: string, options: {earlySeconds?: number} = {}): VerifyResult {
    const parts = token.split('.')
    if (parts.length !== 3) return {ok: false, code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'}
    let head: {alg?: string; kid?: string}
    let claims: TokenClaims
    try {
      head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'))
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
    } catch {
      return {ok: false, code: 'InvalidAuthenticationToken', message: 'The access token is invalid.'}
    }
    const signatureOk =
      head.alg === 'RS256' &&
      verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), this.options.key.publicKey, Buffer.from(parts[2]!, 'base64url'))
    if (!signatureOk) {
      return {ok: false, code: 'InvalidAuthenticationToken', message: 'The access token has an invalid signature.'}
    }
    const now = this.now()
    if (typeof claims.exp !== 'number' || claims.exp - (options.earlySeconds ?? 0) <= now) {
      return {ok: false, code: 'ExpiredAuthenticationToken', message: "The access token expiry UTC time is earlier than current UTC time."}
    }
    if (typeof claims.nbf === 'number' && claims.nbf > now + 300) {
      return {ok: false, code: 'InvalidAuthenticationToken', message: 'The access token is not yet valid.'}
    }
    const audience = String(claims.aud ?? '').replace(/\/+$/, '').toLowerCase()
    const accepted = [armUrl.replace(/\/+$/, '').toLowerCase(), ...WELL_KNOWN_ARM_AUDIENCES]
    if (!accepted.includes(audience)) {
      return {
        ok: false,
        code: 'InvalidAuthenticationTokenAudience',
        message: `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences '${accepted.map((a) => `${a}/`).join("','")}'.`,
      }
    }
    if (!eq(claims.tid, this.tenantId)) {
      return {ok: false, code: 'InvalidAuthenticationTokenTenant', message: `The access token is from the wrong issuer '${claims.iss}'.`}
    }
    const principal = this.principalByClientId(claims.appid)
    if (!principal || !eq(principal.objectId, claims.oid)) {
      return {ok: false, code: 'InvalidAuthenticationToken', message: 'The access token names a principal this emulator does not know.'}
    }
    return {ok: true, claims, principal}
  }

  jwks(): unknown {
    const jwk = this.options.key.publicKey.export({format: 'jwk'}) as Record<string, string>
    return {keys: [{kty: 'RSA', use: 'sig', kid: this.options.key.kid, x5t: this.options.key.kid, n: jwk.n, e: jwk.e, alg: 'RS256', issuer: `${this.options.baseUrl()}/${this.tenantId}/v2.0`}]}
  }

  /** True when the path belongs to the token service. */
  static isTokenPath(pathname: string): boolean {
    return /^\/[^/]+\/(oauth2\/|v2\.0\/\.well-known\/|\.well-known\/|discovery\/)/i.test(pathname)
  }

  private knownTenant(tenant: string): boolean {
    return eq(tenant, this.tenantId) || ['adfs', 'organizations', 'common', 'emulator'].includes(tenant.toLowerCase())
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const base = this.options.baseUrl()
    const segs = url.pathname.split('/').filter(Boolean)
    const tenantRaw = decodeURIComponent(segs[0] ?? '')
    const isAdfs = tenantRaw.toLowerCase() === 'adfs'
    const tenant = ['common', 'organizations', 'emulator'].includes(tenantRaw.toLowerCase()) ? this.tenantId : tenantRaw
    const rest = segs.slice(1).join('/').toLowerCase()
    const noStore = {'cache-control': 'no-store', 'client-request-id': header(req, 'client-request-id') ?? randomUUID(), 'x-ms-request-id': randomUUID()}

    if (req.method === 'GET' && (rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration')) {
      if (!this.knownTenant(tenantRaw)) return sendJson(res, 400, aadError('invalid_tenant', 90002, `Tenant '${tenantRaw}' not found.`), noStore)
      const v2 = rest.startsWith('v2.0')
      const root = isAdfs ? `${base}/adfs` : `${base}/${tenant}`
      const issuer = isAdfs ? `${base}/adfs` : v2 ? `${base}/${tenant}/v2.0` : `${base}/${tenant}/`
      return sendJson(res, 200, {
        token_endpoint: isAdfs ? `${root}/oauth2/token` : v2 ? `${root}/oauth2/v2.0/token` : `${root}/oauth2/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: isAdfs ? `${root}/discovery/keys` : v2 ? `${root}/discovery/v2.0/keys` : `${root}/discovery/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${root}/openid/userinfo`,
        authorization_endpoint: isAdfs ? `${root}/oauth2/authorize` : v2 ? `${root}/oauth2/v2.0/authorize` : `${root}/oauth2/authorize`,
        device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${root}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid'],
        grant_types_supported: ['client_credentials'],
        tenant_region_scope: 'EU',
        cloud_instance_name: new URL(base).host,
        cloud_graph_host_name: new URL(base).host,
        msgraph_host: new URL(base).host,
      }, noStore)
    }
    if (req.method === 'GET' && rest === 'discovery/instance') {
      const host = new URL(base).host
      return sendJson(res, 200, {
        tenant_discovery_endpoint: `${base}/${this.tenantId}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{preferred_network: host, preferred_cache: host, aliases: [host]}],
      }, noStore)
    }
    if (req.method === 'GET' && (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys')) {
      return sendJson(res, 200, this.jwks(), noStore)
    }
    if (req.method === 'POST' && (rest === 'oauth2/v2.0/token' || rest === 'oauth2/token')) {
      const v2 = rest.includes('v2.0')
      if (!this.knownTenant(tenantRaw)) return sendJson(res, 400, aadError('invalid_request', 90002, `Tenant '${tenantRaw}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`), noStore)
      const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'))
      let clientId = form.get('client_id') ?? ''
      let clientSecret = form.get('client_secret') ?? ''
      const basic = /^Basic (.+)$/i.exec(header(req, 'authorization') ?? '')
      if (basic) {
        const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')
        clientId ||= decodeURIComponent(id ?? '')
        clientSecret ||= decodeURIComponent(secret ?? '')
      }
      const grant = form.get('grant_type')
      if (grant !== 'client_credentials') {
        return sendJson(res, 400, aadError('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'. This emulator supports client_credentials only.`), noStore)
      }
      const principal = this.principalByClientId(clientId)
      if (!principal) {
        return sendJson(res, 400, aadError('unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'.`), noStore)
      }
      if (clientSecret !== principal.clientSecret) {
        return sendJson(res, 401, aadError('invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.'), noStore)
      }
      let audience = form.get('resource') ?? ''
      const scope = form.get('scope')
      if (scope) {
        const dflt = scope.split(/\s+/).find((s) => s.endsWith('/.default'))
        if (!dflt) return sendJson(res, 400, aadError('invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`), noStore)
        audience = dflt.slice(0, -'/.default'.length)
      }
      if (!audience) return sendJson(res, 400, aadError('invalid_request', 900144, "The request body must contain the following parameter: 'scope'."), noStore)
      const lifetime = this.options.lifetimeSeconds ?? 3600
      const {token, claims} = this.issue({principal, audience, lifetimeSeconds: lifetime, version: v2 ? '2.0' : '1.0'})
      this.signIns++
      if (v2 || isAdfs) {
        return sendJson(res, 200, {token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token}, noStore)
      }
      return sendJson(res, 200, {
        token_type: 'Bearer',
        expires_in: String(lifetime),
        ext_expires_in: String(lifetime),
        expires_on: String(claims.exp),
        not_before: String(claims.nbf),
        resource: audience,
        access_token: token,
      }, noStore)
    }
    return sendJson(res, 404, aadError('invalid_request', 90019, `The token service has no endpoint ${req.method} ${url.pathname}.`), noStore)
  }
}

function aadError(error: string, code: number, description: string) {
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')
  return {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  }
}
