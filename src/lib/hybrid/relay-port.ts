import type {RelayAPI} from '@azure/arm-relay'

import type {AccessKeys, AuthorizationRuleInfo, KeyType, RelayHybridConnection, RelayNamespaceInfo, Right} from './model.js'

/**
 * What the use-cases need from Microsoft.Relay. The real one wraps `@azure/arm-relay`
 * (`relayPortFromSdk`); tests use a fake. `get*` return undefined on 404; every other failure
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

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p
  } catch (error) {
    if (statusOf(error) === 404) return undefined
    throw error
  }
}

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iter) out.push(item)
  return out
}

type SdkHc = {id?: string; name?: string; requiresClientAuthorization?: boolean; userMetadata?: string; listenerCount?: number; createdAt?: Date | string; updatedAt?: Date | string}

function toHc(h: SdkHc, fallbackName: string): RelayHybridConnection {
  const iso = (d: Date | string | undefined) => (d === undefined ? undefined : d instanceof Date ? d.toISOString() : String(d))
  return {
    id: h.id ?? '',
    name: h.name ?? fallbackName,
    requiresClientAuthorization: h.requiresClientAuthorization !== false,
    ...(h.userMetadata !== undefined && h.userMetadata !== null ? {userMetadata: h.userMetadata} : {}),
    listenerCount: h.listenerCount ?? 0,
    ...(h.createdAt ? {createdAt: iso(h.createdAt)} : {}),
    ...(h.updatedAt ? {updatedAt: iso(h.updatedAt)} : {}),
  }
}

function toRule(r: {id?: string; name?: string; rights?: string[]}, fallbackName: string): AuthorizationRuleInfo {
  return {...(r.id ? {id: r.id} : {}), name: r.name ?? fallbackName, rights: (r.rights ?? []) as Right[]}
}

function toKeys(k: {keyName?: string; primaryKey?: string; secondaryKey?: string; primaryConnectionString?: string; secondaryConnectionString?: string}, rule: string): AccessKeys {
  return {
    keyName: k.keyName ?? rule,
    primaryKey: k.primaryKey ?? '',
    secondaryKey: k.secondaryKey ?? '',
    ...(k.primaryConnectionString ? {primaryConnectionString: k.primaryConnectionString} : {}),
    ...(k.secondaryConnectionString ? {secondaryConnectionString: k.secondaryConnectionString} : {}),
  }
}

/** The RelayPort over `@azure/arm-relay`'s RelayAPI client (api-version 2017-04-01). */
export function relayPortFromSdk(client: RelayAPI, signal?: AbortSignal): RelayPort {
  const o = signal ? {abortSignal: signal as never} : {}
  return {
    async getNamespace(rg, ns) {
      const n = await orUndefined(client.namespaces.get(rg, ns, o))
      return n && {id: n.id ?? '', name: n.name ?? ns, ...(n.location ? {location: n.location} : {}), ...(n.provisioningState ? {provisioningState: n.provisioningState} : {})}
    },
    async listNamespaces() {
      return (await collect(client.namespaces.list(o))).map((n) => ({id: n.id ?? '', name: n.name ?? '', ...(n.location ? {location: n.location} : {})}))
    },
    async createNamespace(rg, ns, location) {
      const n = await client.namespaces.beginCreateOrUpdateAndWait(rg, ns, {location, sku: {name: 'Standard', tier: 'Standard'}}, {...o, updateIntervalInMs: 500})
      return {id: n.id ?? '', name: n.name ?? ns, ...(n.location ? {location: n.location} : {}), ...(n.provisioningState ? {provisioningState: n.provisioningState} : {})}
    },
    async getHybridConnection(rg, ns, hc) {
      const h = await orUndefined(client.hybridConnections.get(rg, ns, hc, o))
      return h && toHc(h, hc)
    },
    async listHybridConnections(rg, ns) {
      return (await collect(client.hybridConnections.listByNamespace(rg, ns, o))).map((h) => toHc(h, ''))
    },
    async putHybridConnection(rg, ns, hc, props) {
      return toHc(await client.hybridConnections.createOrUpdate(rg, ns, hc, props, o), hc)
    },
    async deleteHybridConnection(rg, ns, hc) {
      await client.hybridConnections.delete(rg, ns, hc, o)
    },
    async listRules(rg, ns, hc) {
      return (await collect(client.hybridConnections.listAuthorizationRules(rg, ns, hc, o))).map((r) => toRule(r, ''))
    },
    async getRule(rg, ns, hc, rule) {
      const r = await orUndefined(client.hybridConnections.getAuthorizationRule(rg, ns, hc, rule, o))
      return r && toRule(r, rule)
    },
    async putRule(rg, ns, hc, rule, rights) {
      return toRule(await client.hybridConnections.createOrUpdateAuthorizationRule(rg, ns, hc, rule, {rights}, o), rule)
    },
    async listKeys(rg, ns, hc, rule) {
      return toKeys(await client.hybridConnections.listKeys(rg, ns, hc, rule, o), rule)
    },
    async regenerateKey(rg, ns, hc, rule, keyType) {
      return toKeys(await client.hybridConnections.regenerateKeys(rg, ns, hc, rule, {keyType}, o), rule)
    },
  }
}
