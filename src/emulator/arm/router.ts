import type {IncomingMessage, ServerResponse} from 'node:http'

import {armError, header, HttpError, newRequestId, readBody, sendJson} from '../http.js'
import type {ArmFaultState} from '../faults.js'
import type {TokenService} from '../tokens.js'
import {type ArmCtx, type ArmEnv, type ArmResult, type Handler, queryParam} from './context.js'
import * as res from './resources.js'
import * as relay from './relay.js'
import * as webHc from './web/hybrid-connections.js'
import * as kudu from './web/kudu.js'
import * as plans from './web/plans.js'
import * as sites from './web/sites.js'

/**
 * The ARM front door: authentication (401 with an ARM error body), api-version (400 when
 * missing or unknown), subscription and resource group existence (ResourceGroupNotFound before
 * any provider logic), RBAC (the Reader gets 403 AuthorizationFailed on writes and actions),
 * injected faults, then the provider route. Every answer carries x-ms-request-id, the
 * correlation id (echoed when the caller sent one) and the remaining-requests headers.
 */

type Provider = 'resources' | 'relay' | 'web'
type Method = 'GET' | 'PUT' | 'PATCH' | 'DELETE' | 'POST' | 'HEAD'

interface Route {
  segments: string[]
  provider: Provider
  /** Resource type for RBAC messages, e.g. Microsoft.Relay/namespaces/hybridConnections */
  type: string
  handlers: Partial<Record<Method, Handler>>
}

const RG = 'subscriptions/{sub}/resourceGroups/{rg}'
const RELAY = `${RG}/providers/Microsoft.Relay/namespaces`
const WEB = `${RG}/providers/Microsoft.Web`

function route(pattern: string, provider: Provider, type: string, handlers: Route['handlers']): Route {
  return {segments: pattern.split('/'), provider, type, handlers}
}

const siteHcRoutes = (prefix: string, type: string): Route[] => [
  route(`${prefix}/hybridConnectionRelays`, 'web', `${type}/hybridConnectionRelays`, {GET: webHc.listSiteHybridConnections}),
  route(`${prefix}/hybridConnectionNamespaces/{ns}/relays/{hc}`, 'web', `${type}/hybridConnectionNamespaces/relays`, {
    GET: webHc.getSiteHybridConnection,
    PUT: webHc.putSiteHybridConnection,
    PATCH: webHc.putSiteHybridConnection,
    DELETE: webHc.deleteSiteHybridConnection,
  }),
  route(`${prefix}/extensions/api/command`, 'web', `${type}/extensions`, {POST: kudu.siteCommand}),
]

const ROUTES: Route[] = [
  route('tenants', 'resources', 'Microsoft.Resources/tenants', {GET: res.listTenants}),
  route('subscriptions', 'resources', 'Microsoft.Resources/subscriptions', {GET: res.listSubscriptions}),
  route('subscriptions/{sub}', 'resources', 'Microsoft.Resources/subscriptions', {GET: res.getSubscription}),
  route('subscriptions/{sub}/operationresults/{op}', 'resources', 'Microsoft.Resources/subscriptions/operationresults', {GET: res.subscriptionOperationResult}),
  route('subscriptions/{sub}/resourceGroups', 'resources', 'Microsoft.Resources/subscriptions/resourceGroups', {GET: res.listResourceGroups}),
  route(RG, 'resources', 'Microsoft.Resources/subscriptions/resourceGroups', {
    GET: res.getResourceGroup,
    HEAD: res.headResourceGroup,
    PUT: res.putResourceGroup,
    PATCH: res.patchResourceGroup,
    DELETE: res.deleteResourceGroup,
  }),
  // Microsoft.Relay
  route('subscriptions/{sub}/providers/Microsoft.Relay/namespaces', 'relay', 'Microsoft.Relay/namespaces', {GET: relay.listNamespacesBySubscription}),
  route('subscriptions/{sub}/providers/Microsoft.Relay/checkNameAvailability', 'relay', 'Microsoft.Relay/checkNameAvailability', {POST: relay.checkNameAvailability}),
  route(RELAY, 'relay', 'Microsoft.Relay/namespaces', {GET: relay.listNamespacesByGroup}),
  route(`${RELAY}/{ns}`, 'relay', 'Microsoft.Relay/namespaces', {
    GET: relay.getNamespace,
    PUT: relay.putNamespace,
    PATCH: relay.patchNamespace,
    DELETE: relay.deleteNamespace,
  }),
  route(`${RELAY}/{ns}/operationresults/{op}`, 'relay', 'Microsoft.Relay/namespaces/operationresults', {GET: relay.namespaceOperationResult}),
  route(`${RELAY}/{ns}/authorizationRules`, 'relay', 'Microsoft.Relay/namespaces/authorizationRules', {GET: relay.listRules}),
  route(`${RELAY}/{ns}/authorizationRules/{rule}`, 'relay', 'Microsoft.Relay/namespaces/authorizationRules', {GET: relay.getRule, PUT: relay.putRule, DELETE: relay.deleteRule}),
  route(`${RELAY}/{ns}/authorizationRules/{rule}/listKeys`, 'relay', 'Microsoft.Relay/namespaces/authorizationRules/listKeys', {POST: relay.listKeys}),
  route(`${RELAY}/{ns}/authorizationRules/{rule}/regenerateKeys`, 'relay', 'Microsoft.Relay/namespaces/authorizationRules/regenerateKeys', {POST: relay.regenerateKeys}),
  route(`${RELAY}/{ns}/hybridConnections`, 'relay', 'Microsoft.Relay/namespaces/hybridConnections', {GET: relay.listHybridConnections}),
  route(`${RELAY}/{ns}/hybridConnections/{hc}`, 'relay', 'Microsoft.Relay/namespaces/hybridConnections', {
    GET: relay.getHybridConnection,
    PUT: relay.putHybridConnection,
    DELETE: relay.deleteHybridConnection,
  }),
  route(`${RELAY}/{ns}/hybridConnections/{hc}/authorizationRules`, 'relay', 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules', {GET: relay.listRules}),
  route(`${RELAY}/{ns}/hybridConnections/{hc}/authorizationRules/{rule}`, 'relay', 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules', {
    GET: relay.getRule,
    PUT: relay.putRule,
    DELETE: relay.deleteRule,
  }),
  route(`${RELAY}/{ns}/hybridConnections/{hc}/authorizationRules/{rule}/listKeys`, 'relay', 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules/listKeys', {POST: relay.listKeys}),
  route(`${RELAY}/{ns}/hybridConnections/{hc}/authorizationRules/{rule}/regenerateKeys`, 'relay', 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules/regenerateKeys', {POST: relay.regenerateKeys}),
  // Microsoft.Web
  route('subscriptions/{sub}/providers/Microsoft.Web/serverfarms', 'web', 'Microsoft.Web/serverfarms', {GET: plans.listPlansBySubscription}),
  route('subscriptions/{sub}/providers/Microsoft.Web/sites', 'web', 'Microsoft.Web/sites', {GET: sites.listSitesBySubscription}),
  route('subscriptions/{sub}/providers/Microsoft.Web/checknameavailability', 'web', 'Microsoft.Web/checknameavailability', {POST: sites.checkNameAvailability}),
  route(`${WEB}/serverfarms`, 'web', 'Microsoft.Web/serverfarms', {GET: plans.listPlansByGroup}),
  route(`${WEB}/serverfarms/{plan}`, 'web', 'Microsoft.Web/serverfarms', {GET: plans.getPlan, PUT: plans.putPlan, PATCH: plans.patchPlan, DELETE: plans.deletePlan}),
  route(`${WEB}/serverfarms/{plan}/operationresults/{op}`, 'web', 'Microsoft.Web/serverfarms/operationresults', {GET: plans.planOperationResult}),
  route(`${WEB}/serverfarms/{plan}/hybridConnectionRelays`, 'web', 'Microsoft.Web/serverfarms/hybridConnectionRelays', {GET: webHc.listPlanHybridConnections}),
  route(`${WEB}/serverfarms/{plan}/hybridConnectionNamespaces/{ns}/relays/{hc}`, 'web', 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays', {
    GET: webHc.getPlanHybridConnection,
    DELETE: webHc.deletePlanHybridConnection,
  }),
  route(`${WEB}/serverfarms/{plan}/hybridConnectionNamespaces/{ns}/relays/{hc}/listKeys`, 'web', 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays/listKeys', {POST: webHc.listPlanHybridConnectionKeys}),
  route(`${WEB}/serverfarms/{plan}/hybridConnectionNamespaces/{ns}/relays/{hc}/sites`, 'web', 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays/sites', {GET: webHc.listPlanHybridConnectionSites}),
  route(`${WEB}/serverfarms/{plan}/hybridConnectionPlanLimits/limit`, 'web', 'Microsoft.Web/serverfarms/hybridConnectionPlanLimits', {GET: webHc.getPlanLimit}),
  route(`${WEB}/sites`, 'web', 'Microsoft.Web/sites', {GET: sites.listSitesByGroup}),
  route(`${WEB}/sites/{site}`, 'web', 'Microsoft.Web/sites', {GET: sites.getSite, PUT: sites.putSite, PATCH: sites.patchSite, DELETE: sites.deleteSite}),
  route(`${WEB}/sites/{site}/slots`, 'web', 'Microsoft.Web/sites/slots', {GET: sites.listSlots}),
  route(`${WEB}/sites/{site}/slots/{slot}`, 'web', 'Microsoft.Web/sites/slots', {GET: sites.getSite, PUT: sites.putSlot, PATCH: sites.patchSite, DELETE: sites.deleteSlot}),
  ...siteHcRoutes(`${WEB}/sites/{site}`, 'Microsoft.Web/sites'),
  ...siteHcRoutes(`${WEB}/sites/{site}/slots/{slot}`, 'Microsoft.Web/sites/slots'),
]

function match(segments: string[]): {route: Route; params: Record<string, string>} | undefined {
  outer: for (const r of ROUTES) {
    if (r.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    for (let i = 0; i < segments.length; i++) {
      const want = r.segments[i]!
      const got = segments[i]!
      if (want.startsWith('{')) {
        if (!got) continue outer
        params[want.slice(1, -1)] = got
      } else if (want.toLowerCase() !== got.toLowerCase()) continue outer
    }
    return {route: r, params}
  }
  return undefined
}

// ── api-versions ──────────────────────────────────────────────────────────────────────────

const RELAY_VERSIONS = ['2016-07-01', '2017-04-01', '2018-01-01-preview', '2021-11-01', '2024-01-01', '2026-01-01', '2026-07-01-preview']
const DATE_VERSION = /^(\d{4}-\d{2}-\d{2})(-preview)?$/

function apiVersionOk(provider: Provider, version: string): boolean {
  if (provider === 'relay') return RELAY_VERSIONS.includes(version.toLowerCase())
  const m = DATE_VERSION.exec(version)
  if (!m) return false
  if (provider === 'web') return m[1]! >= '2015-08-01' && m[1]! <= '2025-05-01'
  return m[1]! >= '2014-04-01' && m[1]! <= '2025-04-01'
}

function supportedVersions(provider: Provider): string {
  if (provider === 'relay') return RELAY_VERSIONS.join(', ')
  if (provider === 'web') return '2015-08-01 to 2025-05-01'
  return '2014-04-01 to 2025-04-01'
}

// ── the front door ────────────────────────────────────────────────────────────────────────

export interface ArmRouterOptions {
  env: ArmEnv
  tokens: TokenService
  faults: ArmFaultState
  log?: (line: string) => void
}

export class ArmRouter {
  private readonly budget = {reads: 12000, writes: 1200, deletes: 15000, since: Date.now()}

  constructor(private readonly options: ArmRouterOptions) {}

  private remaining(method: string): Record<string, string> {
    const now = Date.now()
    if (now - this.budget.since > 3_600_000) Object.assign(this.budget, {reads: 12000, writes: 1200, deletes: 15000, since: now})
    const kind = method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes'
    this.budget[kind] = Math.max(0, this.budget[kind] - 1)
    return {[`x-ms-ratelimit-remaining-subscription-${kind}`]: String(this.budget[kind])}
  }

  /** Authenticates a request the way ARM does; the admin endpoint uses it too. */
  authenticate(req: IncomingMessage) {
    const auth = header(req, 'authorization')
    const challenge = `Bearer authorization_uri="${this.options.env.armUrl()}/${this.options.env.state.data.tenantId}", error="invalid_token"`
    const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null
    if (!m) {
      throw armError(401, 'AuthenticationFailed', auth ? "Authentication failed. The 'Authorization' header is provided in an invalid format." : "Authentication failed. The 'Authorization' header is missing.", {'www-authenticate': challenge})
    }
    const result = this.options.tokens.verify(m[1]!, this.options.env.armUrl(), {earlySeconds: this.options.faults.expireTokensEarlySeconds})
    if (!result.ok) throw armError(401, result.code, result.message, {'www-authenticate': `${challenge}, error_description="${result.code}"`})
    return result
  }

  async handle(req: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const requestId = newRequestId()
    const correlation = header(req, 'x-ms-correlation-request-id') ?? requestId
    const common: Record<string, string> = {
      'x-ms-request-id': requestId,
      'x-ms-correlation-request-id': correlation,
      'x-ms-routing-request-id': `EMULATOR:${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}Z:${requestId}`,
      'cache-control': 'no-cache',
      expires: '-1',
      pragma: 'no-cache',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
    }
    const clientId = header(req, 'x-ms-client-request-id')
    if (clientId && /^true$/i.test(header(req, 'x-ms-return-client-request-id') ?? '')) common['x-ms-client-request-id'] = clientId
    const method = (req.method ?? 'GET').toUpperCase()
    const started = Date.now()
    let status = 500
    try {
      const result = await this.dispatch(req, url, method)
      status = result.status
      const headers = {...common, ...this.remaining(method), ...result.headers}
      if (method === 'HEAD') {
        response.writeHead(result.status, headers)
        response.end()
      } else sendJson(response, result.status, result.body, headers)
    } catch (error) {
      if (error instanceof HttpError) {
        status = error.status
        sendJson(response, error.status, method === 'HEAD' ? undefined : error.body, {...common, ...error.headers})
      } else {
        status = 500
        this.options.log?.(`ARM ${method} ${url.pathname}: internal error ${(error as Error).stack ?? String(error)}`)
        sendJson(response, 500, {error: {code: 'InternalServerError', message: 'The emulator failed to process the request (an emulator bug; see its log).'}}, common)
      }
    } finally {
      this.options.log?.(`ARM ${method} ${url.pathname}${url.search ? '?' + url.searchParams.toString().replace(/(skipToken=)[^&]*/i, '$1…') : ''} → ${status} (${Date.now() - started} ms)`)
    }
  }

  private async dispatch(req: IncomingMessage, url: URL, method: string): Promise<ArmResult> {
    const {env, faults} = this.options
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs))
    const auth = this.authenticate(req)
    const segments = url.pathname.split('/').filter(Boolean).map((s) => {
      try {
        return decodeURIComponent(s)
      } catch {
        return s
      }
    })
    const found = match(segments)
    const forced = faults.take()
    if (forced !== undefined) {
      if (forced === 429) {
        const kind = method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write'
        throw armError(429, 'SubscriptionRequestsThrottled', `Number of '${kind}' requests for subscription '${found?.params.sub ?? env.state.defaultSubscriptionId}' actor '${auth.principal.objectId}' exceeded. Please try again after '${faults.retryAfterSeconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`, {'retry-after': String(faults.retryAfterSeconds)})
      }
      throw armError(forced, forced === 503 ? 'ServiceUnavailable' : forced === 504 ? 'GatewayTimeout' : 'InternalServerError', `Injected fault: the emulator answers ${forced} (--faults arm.${forced}).`)
    }
    if (!found) {
      const provider = segments.findIndex((s) => s.toLowerCase() === 'providers')
      const ns = provider >= 0 ? segments[provider + 1] : undefined
      throw armError(
        400,
        'InvalidResourceType',
        `The resource type '${ns ? segments.slice(provider + 2).filter((_, i) => i % 2 === 0).join('/') : segments.join('/')}' could not be found in the namespace '${ns ?? 'Microsoft.Resources'}' for api version '${queryParam(url, 'api-version') ?? ''}'. This emulator serves subscriptions, resource groups, Microsoft.Relay and the hybrid-connection parts of Microsoft.Web.`,
      )
    }
    const {route: r, params} = found
    const handler = r.handlers[method as Method]
    if (!handler) {
      throw armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`)
    }
    const apiVersion = queryParam(url, 'api-version') ?? ''
    if (!apiVersion) {
      throw armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.")
    }
    if (!apiVersionOk(r.provider, apiVersion)) {
      throw armError(400, 'NoRegisteredProviderFound', `No registered resource provider found for API version '${apiVersion}' and type '${r.type}'. The supported api-versions are '${supportedVersions(r.provider)}'.`)
    }
    if (params.sub !== undefined && !env.state.subscription(params.sub)) {
      throw armError(404, 'SubscriptionNotFound', `The subscription '${params.sub}' could not be found.`)
    }
    const writes = method !== 'GET' && method !== 'HEAD'
    if (writes && auth.principal.role === 'Reader') {
      const action = method === 'DELETE' ? 'delete' : method === 'POST' ? 'action' : 'write'
      const scope = `/${segments.join('/')}`.replace(/\/(extensions\/api\/command|listKeys|regenerateKeys|checkNameAvailability)$/i, '')
      throw armError(
        403,
        'AuthorizationFailed',
        `The client '${auth.principal.clientId}' with object id '${auth.principal.objectId}' does not have authorization to perform action '${r.type}/${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      )
    }
    if (params.rg !== undefined && !(method === 'HEAD' && segments.length === 4) && !(method === 'PUT' && segments.length === 4)) {
      if (!env.state.resourceGroup(params.sub!, params.rg)) throw armError(404, 'ResourceGroupNotFound', `Resource group '${params.rg}' could not be found.`)
    }
    let body: unknown
    if (method === 'PUT' || method === 'PATCH' || method === 'POST') {
      const raw = (await readBody(req)).toString('utf8')
      if (raw.trim()) {
        try {
          body = JSON.parse(raw)
        } catch (error) {
          throw armError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${(error as Error).message}'.`)
        }
      }
      if ((method === 'PUT' || method === 'PATCH') && body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
        throw armError(400, 'InvalidRequestContent', 'The request content must be a JSON object.')
      }
    }
    const ctx: ArmCtx = {env, req, method, url, params, apiVersion, body, principal: auth.principal}
    const result = await handler(ctx)
    if (writes && result.status < 400) env.state.save()
    return result
  }
}
