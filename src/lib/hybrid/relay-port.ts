import type {ArmClient} from '../azure/arm-types.js'
import {authorizationRuleId, hybridConnectionId, relayNamespaceId} from '../azure/resource-id.js'
import type {AccessKeys, AuthorizationRuleInfo, KeyType, RelayHybridConnection, RelayNamespaceInfo, Right} from './model.js'

/**
 * What the use-cases need from Microsoft.Relay. The real one is plain ARM calls through our
 * ARM client (`relayPortFromArm`); tests use a fake. `get*` return undefined on 404; every other failure
 * is thrown as is (it carries `statusCode`/`status`), and callers explain it.
 */
export interface RelayPort {
  getNamespace(rg: string, ns: string): Promise<RelayNamespaceInfo | undefined>
  /** Every namespace of the subscription (one paged request). */
  listNamespaces(): Promise<RelayNamespaceInfo[]>
  /** Creates the namespace and waits for its long-running operation. */
  createNamespace(rg: string, ns: string, location: string): Promise<RelayNamespaceInfo>
  getHybridConnection(rg: string, ns: string, hc: string): Promise<RelayHybridConnection | undefined>
  listHybridConnections(rg: string, ns: string): Promise<RelayHybridConnection[]>
  putHybridConnection(rg: string, ns: string, hc: string, props: {requiresClientAuthorization: boolean; userMetadata?: string}): Promise<RelayHybridConnection>
  deleteHybridConnection(rg: string, ns: string, hc: string): Promise<void>
  listRules(rg: string, ns: string, hc: string): Promise<AuthorizationRuleInfo[]>
  getRule(rg: string, ns: string, hc: string, rule: string): Promise<AuthorizationRuleInfo | undefined>
  putRule(rg: string, ns: string, hc: string, rule: string, rights: Right[]): Promise<AuthorizationRuleInfo>
  listKeys(rg: string, ns: string, hc: string, rule: string): Promise<AccessKeys>
  regenerateKey(rg: string, ns: string, hc: string, rule: string, keyType: KeyType): Promise<AccessKeys>
}

/** The HTTP status carried by an error from the SDK, axios or our ARM client. */
export function statusOf(error: unknown): number | undefined {
  const e = error as {statusCode?: unknown; status?: unknown; response?: {status?: unknown}} | undefined
  for (const v of [e?.statusCode, e?.status, e?.response?.status]) if (typeof v === 'number') return v
  return undefined
}

interface Resource<P> {
  id?: string
  name?: string
  location?: string
  properties?: P
}
type HcProperties = {requiresClientAuthorization?: boolean; userMetadata?: string | null; listenerCount?: number; createdAt?: string; updatedAt?: string}
type KeysBody = {keyName?: string; primaryKey?: string; secondaryKey?: string; primaryConnectionString?: string; secondaryConnectionString?: string}

function toNamespace(n: Resource<{provisioningState?: string}>, fallbackName: string): RelayNamespaceInfo {
  return {
    id: n.id ?? '',
    name: n.name ?? fallbackName,
    ...(n.location ? {location: n.location} : {}),
    ...(n.properties?.provisioningState ? {provisioningState: n.properties.provisioningState} : {}),
  }
}

function toHc(h: Resource<HcProperties>, fallbackName: string): RelayHybridConnection {
  const p = h.properties ?? {}
  return {
    id: h.id ?? '',
    name: h.name ?? fallbackName,
    requiresClientAuthorization: p.requiresClientAuthorization !== false,
    ...(p.userMetadata !== undefined && p.userMetadata !== null ? {userMetadata: p.userMetadata} : {}),
    listenerCount: p.listenerCount ?? 0,
    ...(p.createdAt ? {createdAt: String(p.createdAt)} : {}),
    ...(p.updatedAt ? {updatedAt: String(p.updatedAt)} : {}),
  }
}

function toRule(r: Resource<{rights?: string[]}>, fallbackName: string): AuthorizationRuleInfo {
  return {...(r.id ? {id: r.id} : {}), name: r.name ?? fallbackName, rights: (r.properties?.rights ?? []) as Right[]}
}

function toKeys(k: KeysBody | undefined, rule: string): AccessKeys {
  return {
    keyName: k?.keyName ?? rule,
    primaryKey: k?.primaryKey ?? '',
    secondaryKey: k?.secondaryKey ?? '',
    ...(k?.primaryConnectionString ? {primaryConnectionString: k.primaryConnectionString} : {}),
    ...(k?.secondaryConnectionString ? {secondaryConnectionString: k.secondaryConnectionString} : {}),
  }
}

/**
 * The RelayPort over our own ARM client (Microsoft.Relay at the api-version of the provider
 * table, arm-surface.md §1-§2): plain GET/PUT/DELETE/POST on the resource ids, paging, retries
 * and long-running operations from the client. Unlike `@azure/arm-relay` it loads nothing
 * more (that SDK and its core pipeline were ~175 modules and most of a `list --app`).
 */
export function relayPortFromArm(arm: ArmClient, subscriptionId: string, signal?: AbortSignal): RelayPort {
  const ns = (rg: string, namespace: string) => relayNamespaceId({subscriptionId, resourceGroup: rg, namespace})
  const hcId = (rg: string, namespace: string, hc: string) => hybridConnectionId({subscriptionId, resourceGroup: rg, namespace, hybridConnection: hc})
  const ruleId = (rg: string, namespace: string, hc: string, rule: string) => authorizationRuleId({subscriptionId, resourceGroup: rg, namespace, hybridConnection: hc, rule})
  const o = {signal}
  return {
    async getNamespace(rg, namespace) {
      const n = await arm.get<Resource<{provisioningState?: string}>>(ns(rg, namespace), {allowNotFound: true, signal})
      return n && toNamespace(n, namespace)
    },
    async listNamespaces() {
      return (await arm.list<Resource<{provisioningState?: string}>>(`/subscriptions/${subscriptionId}/providers/Microsoft.Relay/namespaces`, o)).map((n) => toNamespace(n, ''))
    },
    async createNamespace(rg, namespace, location) {
      const body = {location, sku: {name: 'Standard', tier: 'Standard'}}
      const r = await arm.request<Resource<{provisioningState?: string}>>({method: 'PUT', path: ns(rg, namespace), body, wait: true, signal})
      return toNamespace(r.body ?? {}, namespace)
    },
    async getHybridConnection(rg, namespace, hc) {
      const h = await arm.get<Resource<HcProperties>>(hcId(rg, namespace, hc), {allowNotFound: true, signal})
      return h && toHc(h, hc)
    },
    async listHybridConnections(rg, namespace) {
      return (await arm.list<Resource<HcProperties>>(`${ns(rg, namespace)}/hybridConnections`, o)).map((h) => toHc(h, ''))
    },
    async putHybridConnection(rg, namespace, hc, props) {
      const r = await arm.request<Resource<HcProperties>>({method: 'PUT', path: hcId(rg, namespace, hc), body: {properties: props}, signal})
      return toHc(r.body ?? {}, hc)
    },
    async deleteHybridConnection(rg, namespace, hc) {
      await arm.request({method: 'DELETE', path: hcId(rg, namespace, hc), signal})
    },
    async listRules(rg, namespace, hc) {
      return (await arm.list<Resource<{rights?: string[]}>>(`${hcId(rg, namespace, hc)}/authorizationRules`, o)).map((r) => toRule(r, ''))
    },
    async getRule(rg, namespace, hc, rule) {
      const r = await arm.get<Resource<{rights?: string[]}>>(ruleId(rg, namespace, hc, rule), {allowNotFound: true, signal})
      return r && toRule(r, rule)
    },
    async putRule(rg, namespace, hc, rule, rights) {
      const r = await arm.request<Resource<{rights?: string[]}>>({method: 'PUT', path: ruleId(rg, namespace, hc, rule), body: {properties: {rights}}, signal})
      return toRule(r.body ?? {}, rule)
    },
    async listKeys(rg, namespace, hc, rule) {
      const r = await arm.request<KeysBody>({method: 'POST', path: `${ruleId(rg, namespace, hc, rule)}/listKeys`, idempotent: true, signal})
      return toKeys(r.body, rule)
    },
    async regenerateKey(rg, namespace, hc, rule, keyType) {
      // Not retried: a second regeneration after a lost answer would replace the key again.
      const r = await arm.request<KeysBody>({method: 'POST', path: `${ruleId(rg, namespace, hc, rule)}/regenerateKeys`, body: {keyType}, signal})
      return toKeys(r.body, rule)
    },
  }
}
