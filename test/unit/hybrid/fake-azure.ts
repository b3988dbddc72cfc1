import {randomBytes} from 'node:crypto'

import type {ArmClient, ArmRequest, ArmResponse} from '../../../src/lib/azure/arm-types.js'
import type {HybridContext} from '../../../src/lib/hybrid/context.js'
import {resourceIdSegments} from '../../../src/lib/azure/resource-id.js'
import type {AccessKeys, AuthorizationRuleInfo, RelayHybridConnection, Right} from '../../../src/lib/hybrid/model.js'
import type {RelayPort} from '../../../src/lib/hybrid/relay-port.js'

/** A small in-memory Azure (Web over an ArmClient, Relay over a RelayPort) for use-case tests. */
export const SUB = '00000000-0000-0000-0000-000000000001'

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

interface Rule {
  name: string
  rights: Right[]
  primaryKey: string
  secondaryKey: string
}
interface Hc {
  name: string
  requiresClientAuthorization: boolean
  userMetadata?: string
  listenerCount: number
  rules: Map<string, Rule>
}
interface Site {
  rg: string
  app: string
  slot?: string
  kind: string
  planId: string
  relays: Map<string, {ns: string; hc: string; props: Record<string, unknown>}>
}

const newKey = () => randomBytes(32).toString('base64')
const lc = (s: string) => s.toLowerCase()

export class FakeAzure {
  readonly namespaces = new Map<string, {rg: string; name: string; hcs: Map<string, Hc>}>()
  readonly plans = new Map<string, {rg: string; name: string; tier: string}>()
  readonly sites = new Map<string, Site>()
  readonly calls: string[] = []
  /** Like a Reader principal: listKeys and writes answer 403. */
  reader = false
  /** Fail the nth call matching a pattern. */
  failOn?: {pattern: RegExp; status: number; after?: number}

  planId(rg: string, name: string) {
    return `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Web/serverfarms/${name}`
  }

  addPlan(rg: string, name: string, tier: string) {
    this.plans.set(lc(`${rg}/${name}`), {rg, name, tier})
    return this
  }

  addApp(rg: string, app: string, plan: {rg: string; name: string}, options: {kind?: string; slot?: string} = {}) {
    const key = lc(`${rg}/${app}${options.slot ? `/${options.slot}` : ''}`)
    this.sites.set(key, {rg, app, ...(options.slot ? {slot: options.slot} : {}), kind: options.kind ?? 'app', planId: this.planId(plan.rg, plan.name), relays: new Map()})
    return this
  }

  addNamespace(rg: string, name: string) {
    this.namespaces.set(lc(`${rg}/${name}`), {rg, name, hcs: new Map()})
    return this
  }

  addHc(rg: string, ns: string, name: string, options: {metadata?: string | null; requiresClientAuthorization?: boolean; rules?: Array<[string, Right[]]>} = {}) {
    const n = this.namespaces.get(lc(`${rg}/${ns}`))!
    const metadata = options.metadata === undefined ? JSON.stringify([{key: 'endpoint', value: 'db01.corp:1433'}]) : options.metadata
    n.hcs.set(lc(name), {
      name,
      requiresClientAuthorization: options.requiresClientAuthorization ?? true,
      ...(metadata === null ? {} : {userMetadata: metadata}),
      listenerCount: 0,
      rules: new Map((options.rules ?? [['defaultListener', ['Listen']], ['defaultSender', ['Send']]]).map(([r, rights]) => [lc(r), {name: r, rights, primaryKey: newKey(), secondaryKey: newKey()}])),
    })
    return this
  }

  hc(rg: string, ns: string, name: string): Hc | undefined {
    return this.namespaces.get(lc(`${rg}/${ns}`))?.hcs.get(lc(name))
  }

  rule(rg: string, ns: string, hc: string, rule: string): Rule | undefined {
    return this.hc(rg, ns, hc)?.rules.get(lc(rule))
  }

  site(rg: string, app: string, slot?: string): Site | undefined {
    return this.sites.get(lc(`${rg}/${app}${slot ? `/${slot}` : ''}`))
  }

  /** Attach directly (seeding), with a given key. */
  seedAttach(rg: string, app: string, relay: {rg: string; ns: string; hc: string}, key: string, options: {slot?: string; sendKeyName?: string; host?: string; port?: number} = {}) {
    const site = this.site(rg, app, options.slot)!
    site.relays.set(lc(`${relay.ns}/${relay.hc}`), {
      ns: relay.ns,
      hc: relay.hc,
      props: {
        serviceBusNamespace: relay.ns,
        relayName: relay.hc,
        relayArmUri: `/subscriptions/${SUB}/resourceGroups/${relay.rg}/providers/Microsoft.Relay/namespaces/${relay.ns}/hybridConnections/${relay.hc}`,
        hostname: options.host ?? 'db01.corp',
        port: options.port ?? 1433,
        sendKeyName: options.sendKeyName ?? 'defaultSender',
        sendKeyValue: key,
        serviceBusSuffix: '.servicebus.windows.net',
      },
    })
  }

  snapshot(): string {
    const ns = [...this.namespaces.values()].map((n) => ({...n, hcs: [...n.hcs.values()].map((h) => ({...h, rules: [...h.rules.values()]}))}))
    const sites = [...this.sites.values()].map((s) => ({...s, relays: [...s.relays.values()]}))
    return JSON.stringify({ns, sites})
  }

  private check(method: string, path: string) {
    this.calls.push(`${method} ${path}`)
    if (this.failOn && this.failOn.pattern.test(`${method} ${path}`)) {
      if (!this.failOn.after) throw new HttpError(this.failOn.status, `injected ${this.failOn.status}`)
      this.failOn.after--
    }
    if (this.reader && (method !== 'GET' || /listKeys$/i.test(path))) throw new HttpError(403, `AuthorizationFailed: the client does not have authorization to perform action on ${path}`)
  }

  // ---- Web over ArmClient
  private planRelays(planId: string) {
    const out = new Map<string, {ns: string; hc: string; props: Record<string, unknown>; apps: Site[]}>()
    for (const s of this.sites.values()) {
      if (lc(s.planId) !== lc(planId)) continue
      for (const [k, r] of s.relays) {
        const e = out.get(k) ?? {...r, apps: []}
        e.apps.push(s)
        out.set(k, e)
      }
    }
    return out
  }

  private siteOf(seg: Map<string, string>): Site | undefined {
    return this.site(seg.get('resourcegroups')!, seg.get('sites')!, seg.get('slots'))
  }

  private siteId(s: Site) {
    return `/subscriptions/${SUB}/resourceGroups/${s.rg}/providers/Microsoft.Web/sites/${s.app}${s.slot ? `/slots/${s.slot}` : ''}`
  }

  private webItem(s: Site, r: {ns: string; hc: string; props: Record<string, unknown>}) {
    return {id: `${this.siteId(s)}/hybridConnectionNamespaces/${r.ns}/relays/${r.hc}`, name: r.hc, location: 'West Europe', properties: {...r.props, sendKeyValue: ''}}
  }

  web(method: string, path: string, body?: unknown): unknown {
    const p = path.split('?')[0]!
    this.check(method, p)
    const seg = resourceIdSegments(p)
    const last = p.split('/').filter(Boolean).pop()!.toLowerCase()
    if (/\/providers\/Microsoft\.Web\/serverfarms$/i.test(p)) {
      return {value: [...this.plans.values()].map((pl) => ({id: this.planId(pl.rg, pl.name), name: pl.name, sku: {tier: pl.tier}}))}
    }
    if (seg.has('serverfarms')) {
      const plan = this.plans.get(lc(`${seg.get('resourcegroups')}/${seg.get('serverfarms')}`))
      if (!plan) throw new HttpError(404, 'ResourceNotFound')
      const planId = this.planId(plan.rg, plan.name)
      if (last === 'hybridconnectionrelays') {
        return {value: [...this.planRelays(planId).values()].map((r) => ({id: `${planId}/hybridConnectionNamespaces/${r.ns}/relays/${r.hc}`, name: r.hc, properties: {...r.props, sendKeyValue: ''}}))}
      }
      if (seg.has('hybridconnectionplanlimits')) {
        const max = plan.tier === 'Basic' ? 5 : plan.tier === 'Standard' ? 25 : 220
        return {properties: {current: this.planRelays(planId).size, maximum: max}}
      }
      if (seg.has('relays')) {
        const r = this.planRelays(planId).get(lc(`${seg.get('hybridconnectionnamespaces')}/${seg.get('relays')}`))
        if (!r) throw new HttpError(404, 'NotFound')
        if (last === 'sites') return {value: r.apps.map((s) => ({id: this.siteId(s), name: s.app}))}
        if (last === 'listkeys') return {properties: {sendKeyName: r.props.sendKeyName, sendKeyValue: r.props.sendKeyValue}}
      }
      return {id: planId, name: plan.name, sku: {tier: plan.tier}}
    }
    if (seg.has('sites')) {
      if (last === 'slots' && !seg.has('slots')) {
        return {value: [...this.sites.values()].filter((s) => s.slot && lc(s.app) === lc(seg.get('sites')!)).map((s) => ({id: this.siteId(s), name: `${s.app}/${s.slot}`}))}
      }
      const site = this.siteOf(seg)
      if (!site) throw new HttpError(404, 'ResourceNotFound')
      if (last === 'hybridconnectionrelays') return {value: [...site.relays.values()].map((r) => this.webItem(site, r)), nextLink: null, id: null}
      if (seg.has('relays')) {
        const key = lc(`${seg.get('hybridconnectionnamespaces')}/${seg.get('relays')}`)
        if (method === 'GET') {
          const r = site.relays.get(key)
          if (!r) throw new HttpError(404, 'NotFound')
          return this.webItem(site, r)
        }
        if (method === 'DELETE') {
          if (!site.relays.delete(key)) throw new HttpError(404, 'NotFound')
          return ''
        }
        if (method === 'PUT') {
          const props = (body as {properties: Record<string, unknown>}).properties
          const plan = [...this.plans.values()].find((pl) => lc(this.planId(pl.rg, pl.name)) === lc(site.planId))!
          const counted = this.planRelays(site.planId)
          const max = plan.tier === 'Basic' ? 5 : plan.tier === 'Standard' ? 25 : 220
          if (!counted.has(key) && counted.size >= max) throw new HttpError(409, 'limit')
          const r = {ns: seg.get('hybridconnectionnamespaces')!, hc: seg.get('relays')!, props: {...props}}
          site.relays.set(key, r)
          return this.webItem(site, r)
        }
      }
      return {id: this.siteId(site), name: site.slot ? `${site.app}/${site.slot}` : site.app, kind: site.kind, location: 'West Europe', properties: {serverFarmId: site.planId}}
    }
    if (seg.has('resourcegroups')) return {id: p, name: seg.get('resourcegroups'), location: 'westeurope'}
    throw new HttpError(404, `no route ${p}`)
  }

  arm(): ArmClient {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this
    return {
      subscriptionId: SUB,
      async request<T>(r: ArmRequest): Promise<ArmResponse<T>> {
        return {status: 200, headers: {}, body: self.web(r.method, r.path, r.body) as T}
      },
      async get<T>(path: string, options?: {allowNotFound?: boolean}): Promise<T | undefined> {
        try {
          return self.web('GET', path) as T
        } catch (error) {
          if (options?.allowNotFound && (error as HttpError).status === 404) return undefined
          throw error
        }
      },
      async list<T>(path: string): Promise<T[]> {
        return ((self.web('GET', path) as {value: T[]}).value ?? []) as T[]
      },
    }
  }

  // ---- Relay over RelayPort
  relay(): RelayPort {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this
    const hcOrThrow = (rg: string, ns: string, hc: string) => {
      const h = self.hc(rg, ns, hc)
      if (!h) throw new HttpError(404, 'NotFound')
      return h
    }
    const view = (rg: string, ns: string, h: Hc): RelayHybridConnection => ({
      id: `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Relay/namespaces/${ns}/hybridConnections/${h.name}`,
      name: h.name,
      requiresClientAuthorization: h.requiresClientAuthorization,
      ...(h.userMetadata !== undefined ? {userMetadata: h.userMetadata} : {}),
      listenerCount: h.listenerCount,
    })
    const keys = (r: Rule): AccessKeys => ({keyName: r.name, primaryKey: r.primaryKey, secondaryKey: r.secondaryKey})
    const ruleView = (r: Rule): AuthorizationRuleInfo => ({name: r.name, rights: r.rights})
    const rel = (method: string, rg: string, ns: string, rest = '') => self.check(method, `relay/${rg}/${ns}${rest}`)
    return {
      async getNamespace(rg, ns) {
        rel('GET', rg, ns)
        const n = self.namespaces.get(lc(`${rg}/${ns}`))
        return n && {id: `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Relay/namespaces/${n.name}`, name: n.name}
      },
      async listNamespaces() {
        self.check('GET', 'relay/namespaces')
        return [...self.namespaces.values()].map((n) => ({id: `/subscriptions/${SUB}/resourceGroups/${n.rg}/providers/Microsoft.Relay/namespaces/${n.name}`, name: n.name}))
      },
      async createNamespace(rg, ns) {
        rel('PUT', rg, ns)
        self.addNamespace(rg, ns)
        return {id: '', name: ns}
      },
      async getHybridConnection(rg, ns, hc) {
        rel('GET', rg, ns, `/${hc}`)
        const h = self.hc(rg, ns, hc)
        return h && view(rg, ns, h)
      },
      async listHybridConnections(rg, ns) {
        rel('GET', rg, ns, '/hybridConnections')
        const n = self.namespaces.get(lc(`${rg}/${ns}`))
        if (!n) throw new HttpError(404, 'NotFound')
        return [...n.hcs.values()].map((h) => view(rg, ns, h))
      },
      async putHybridConnection(rg, ns, hc, props) {
        rel('PUT', rg, ns, `/${hc}`)
        const n = self.namespaces.get(lc(`${rg}/${ns}`))
        if (!n) throw new HttpError(404, 'NotFound')
        const h: Hc = n.hcs.get(lc(hc)) ?? {name: hc, listenerCount: 0, rules: new Map(), requiresClientAuthorization: true}
        h.requiresClientAuthorization = props.requiresClientAuthorization
        if (props.userMetadata !== undefined) h.userMetadata = props.userMetadata
        n.hcs.set(lc(hc), h)
        return view(rg, ns, h)
      },
      async deleteHybridConnection(rg, ns, hc) {
        rel('DELETE', rg, ns, `/${hc}`)
        self.namespaces.get(lc(`${rg}/${ns}`))?.hcs.delete(lc(hc))
      },
      async listRules(rg, ns, hc) {
        rel('GET', rg, ns, `/${hc}/authorizationRules`)
        return [...hcOrThrow(rg, ns, hc).rules.values()].map(ruleView)
      },
      async getRule(rg, ns, hc, rule) {
        rel('GET', rg, ns, `/${hc}/authorizationRules/${rule}`)
        const r = hcOrThrow(rg, ns, hc).rules.get(lc(rule))
        return r && ruleView(r)
      },
      async putRule(rg, ns, hc, rule, rights) {
        rel('PUT', rg, ns, `/${hc}/authorizationRules/${rule}`)
        const h = hcOrThrow(rg, ns, hc)
        const r = h.rules.get(lc(rule)) ?? {name: rule, rights, primaryKey: newKey(), secondaryKey: newKey()}
        r.rights = rights
        h.rules.set(lc(rule), r)
        return ruleView(r)
      },
      async listKeys(rg, ns, hc, rule) {
        rel('POST', rg, ns, `/${hc}/authorizationRules/${rule}/listKeys`)
        const r = hcOrThrow(rg, ns, hc).rules.get(lc(rule))
        if (!r) throw new HttpError(404, 'NotFound')
        return keys(r)
      },
      async regenerateKey(rg, ns, hc, rule, keyType) {
        rel('POST', rg, ns, `/${hc}/authorizationRules/${rule}/regenerateKeys`)
        const r = hcOrThrow(rg, ns, hc).rules.get(lc(rule))
        if (!r) throw new HttpError(404, 'NotFound')
        if (keyType === 'PrimaryKey') r.primaryKey = newKey()
        else r.secondaryKey = newKey()
        return keys(r)
      },
    }
  }

  context(overrides: Partial<HybridContext> = {}): HybridContext {
    return {arm: this.arm(), relay: this.relay(), subscriptionId: SUB, relaySuffix: '.servicebus.windows.net', ...overrides}
  }

  writes(): string[] {
    return this.calls.filter((c) => !c.startsWith('GET ') && !/listKeys$/i.test(c))
  }
}

/** A standard world: rg "apps" with a Standard plan and two apps; rg "relay" with namespace "contoso-relay" and HC "onprem-sql". */
export function world(): FakeAzure {
  return new FakeAzure()
    .addPlan('apps', 'plan-std', 'Standard')
    .addApp('apps', 'web-1', {rg: 'apps', name: 'plan-std'})
    .addApp('apps', 'web-2', {rg: 'apps', name: 'plan-std'})
    .addNamespace('relay', 'contoso-relay')
    .addHc('relay', 'contoso-relay', 'onprem-sql')
}
