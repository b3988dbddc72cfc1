import {UsageError} from '../errors.js'

/**
 * ARM resource ids, parsed and formatted by key/value segment pairs (never by fixed index),
 * compared case-insensitively: ARM does not echo a canonical casing (arm-surface.md §1).
 *
 *   /subscriptions/{sub}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}]...
 */
export interface ResourceId {
  subscriptionId: string
  resourceGroup?: string
  /** Provider namespace as written, e.g. Microsoft.Web */
  provider?: string
  /** Type/name pairs after the provider, e.g. [{type: 'sites', name: 'app'}, {type: 'slots', name: 'staging'}] */
  resources: Array<{type: string; name: string}>
}

const NAME_FORBIDDEN = /[/?#\s]/

/** Parses any ARM resource id (or scope: subscription, resource group). Throws UsageError (exit 2). */
export function parseResourceId(id: string, expected = GENERIC_SHAPE): ResourceId {
  const bad = (why: string) =>
    new UsageError(`Malformed resource id ${JSON.stringify(id)}: ${why}.`, {
      code: 'InvalidResourceId',
      suggestions: [`Expected ${expected}.`],
      data: {expected},
    })
  if (typeof id !== 'string' || id.trim() === '') throw bad('it is empty')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(id)) throw bad('it is a URL, not a resource id')
  if (/[?#]/.test(id)) throw bad('it contains "?" or "#"')
  const trimmed = id.trim().replace(/^\/+/, '').replace(/\/+$/, '')
  const segments = trimmed.split('/')
  if (segments.some((s) => s === '')) throw bad('it contains an empty segment ("//")')
  if (segments.some((s) => /\s/.test(s))) throw bad('it contains whitespace')
  let i = 0
  const take = () => segments[i++]
  if (take()?.toLowerCase() !== 'subscriptions') throw bad('it must start with /subscriptions/{subscriptionId}')
  const subscriptionId = take()
  if (!subscriptionId) throw bad('the subscription id is missing')
  const result: ResourceId = {subscriptionId, resources: []}
  if (i < segments.length && segments[i]!.toLowerCase() === 'resourcegroups') {
    i++
    const rg = take()
    if (!rg) throw bad('the resource group name is missing')
    result.resourceGroup = rg
  }
  if (i < segments.length) {
    if (segments[i]!.toLowerCase() !== 'providers') throw bad(`unexpected segment "${segments[i]}" (expected "providers")`)
    i++
    const provider = take()
    if (!provider) throw bad('the provider namespace is missing')
    if (!/^[a-z0-9]+(\.[a-z0-9]+)+$/i.test(provider)) throw bad(`"${provider}" is not a provider namespace such as Microsoft.Web`)
    result.provider = provider
    if (i >= segments.length) throw bad('a resource type and name must follow the provider')
    while (i < segments.length) {
      const type = take()!
      const name = take()
      if (name === undefined) throw bad(`the name after "${type}" is missing`)
      result.resources.push({type, name})
    }
  }
  return result
}

/** Formats a ResourceId; names must not contain "/", "?", "#" or whitespace. */
export function formatResourceId(id: ResourceId): string {
  const check = (label: string, value: string | undefined) => {
    if (value === undefined || value === '' || NAME_FORBIDDEN.test(value)) {
      throw new UsageError(`Invalid ${label} ${JSON.stringify(value ?? '')}: it must be non-empty without "/", "?", "#" or spaces.`, {
        code: 'InvalidResourceName',
      })
    }
    return value
  }
  let out = `/subscriptions/${check('subscription id', id.subscriptionId)}`
  if (id.resourceGroup !== undefined) out += `/resourceGroups/${check('resource group', id.resourceGroup)}`
  if (id.provider) {
    out += `/providers/${check('provider', id.provider)}`
    for (const r of id.resources) out += `/${check('resource type', r.type)}/${check(`${r.type} name`, r.name)}`
  }
  return out
}

/** Case-insensitive equality of two ids (trailing slashes ignored). */
export function sameResourceId(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^\/*/, '/').replace(/\/+$/, '').toLowerCase()
  return norm(a) === norm(b)
}

// ---------------------------------------------------------------------------------------------
// Typed helpers for the resources hcctl works with.

export interface ResourceGroupScope {
  subscriptionId: string
  resourceGroup: string
}

export interface SiteRef extends ResourceGroupScope {
  site: string
  slot?: string
}
export interface ServerfarmRef extends ResourceGroupScope {
  plan: string
}
export interface RelayNamespaceRef extends ResourceGroupScope {
  namespace: string
}
export interface HybridConnectionRef extends RelayNamespaceRef {
  hybridConnection: string
}
/** A SAS rule on a namespace (hybridConnection undefined) or on a hybrid connection. */
export interface AuthorizationRuleRef extends RelayNamespaceRef {
  hybridConnection?: string
  rule: string
}
/** The Microsoft.Web child resource that attaches a hybrid connection to a site or slot. */
export interface WebHybridConnectionRef extends SiteRef {
  namespace: string
  relay: string
}

const GENERIC_SHAPE = '/subscriptions/{subscriptionId}[/resourceGroups/{resourceGroup}[/providers/{Namespace}/{type}/{name}...]]'
const RG = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}'
export const SHAPES = {
  resourceGroup: RG,
  site: `${RG}/providers/Microsoft.Web/sites/{site}[/slots/{slot}]`,
  serverfarm: `${RG}/providers/Microsoft.Web/serverfarms/{plan}`,
  relayNamespace: `${RG}/providers/Microsoft.Relay/namespaces/{namespace}`,
  hybridConnection: `${RG}/providers/Microsoft.Relay/namespaces/{namespace}/hybridConnections/{hybridConnection}`,
  authorizationRule: `${RG}/providers/Microsoft.Relay/namespaces/{namespace}[/hybridConnections/{hybridConnection}]/authorizationRules/{rule}`,
  webHybridConnection: `${RG}/providers/Microsoft.Web/sites/{site}[/slots/{slot}]/hybridConnectionNamespaces/{namespace}/relays/{relay}`,
} as const

/** Matches the type pairs of `id` against `patterns` (each one alternative); returns the names by key. */
function match(
  input: string,
  shape: string,
  provider: string,
  alternatives: Array<Array<[type: string, key: string]>>,
): {scope: ResourceGroupScope; names: Record<string, string>} {
  const id = parseResourceId(input, shape)
  const fail = (why: string) =>
    new UsageError(`Malformed resource id ${JSON.stringify(input)}: ${why}.`, {
      code: 'InvalidResourceId',
      suggestions: [`Expected ${shape}.`],
      data: {expected: shape},
    })
  if (!id.resourceGroup) throw fail('the resource group is missing')
  if (!id.provider || id.provider.toLowerCase() !== provider.toLowerCase()) throw fail(`the provider must be ${provider}`)
  for (const pairs of alternatives) {
    if (pairs.length !== id.resources.length) continue
    if (!pairs.every(([type], k) => id.resources[k]!.type.toLowerCase() === type.toLowerCase())) continue
    const names: Record<string, string> = {}
    pairs.forEach(([, key], k) => (names[key] = id.resources[k]!.name))
    return {scope: {subscriptionId: id.subscriptionId, resourceGroup: id.resourceGroup}, names}
  }
  throw fail(`"${id.resources.map((r) => r.type).join('/')}" is not the expected resource type`)
}

export function resourceGroupId(ref: ResourceGroupScope): string {
  return formatResourceId({subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, resources: []})
}

export function siteId(ref: SiteRef): string {
  const resources = [{type: 'sites', name: ref.site}]
  if (ref.slot) resources.push({type: 'slots', name: ref.slot})
  return formatResourceId({...scopeOf(ref), provider: 'Microsoft.Web', resources})
}

export function parseSiteId(id: string): SiteRef {
  const {scope, names} = match(id, SHAPES.site, 'Microsoft.Web', [
    [['sites', 'site']],
    [
      ['sites', 'site'],
      ['slots', 'slot'],
    ],
  ])
  return names.slot ? {...scope, site: names.site!, slot: names.slot} : {...scope, site: names.site!}
}

export function serverfarmId(ref: ServerfarmRef): string {
  return formatResourceId({...scopeOf(ref), provider: 'Microsoft.Web', resources: [{type: 'serverfarms', name: ref.plan}]})
}

export function parseServerfarmId(id: string): ServerfarmRef {
  const {scope, names} = match(id, SHAPES.serverfarm, 'Microsoft.Web', [[['serverfarms', 'plan']]])
  return {...scope, plan: names.plan!}
}

export function relayNamespaceId(ref: RelayNamespaceRef): string {
  return formatResourceId({...scopeOf(ref), provider: 'Microsoft.Relay', resources: [{type: 'namespaces', name: ref.namespace}]})
}

export function parseRelayNamespaceId(id: string): RelayNamespaceRef {
  const {scope, names} = match(id, SHAPES.relayNamespace, 'Microsoft.Relay', [[['namespaces', 'namespace']]])
  return {...scope, namespace: names.namespace!}
}

export function hybridConnectionId(ref: HybridConnectionRef): string {
  return formatResourceId({
    ...scopeOf(ref),
    provider: 'Microsoft.Relay',
    resources: [
      {type: 'namespaces', name: ref.namespace},
      {type: 'hybridConnections', name: ref.hybridConnection},
    ],
  })
}

export function parseHybridConnectionId(id: string): HybridConnectionRef {
  const {scope, names} = match(id, SHAPES.hybridConnection, 'Microsoft.Relay', [
    [
      ['namespaces', 'namespace'],
      ['hybridConnections', 'hybridConnection'],
    ],
  ])
  return {...scope, namespace: names.namespace!, hybridConnection: names.hybridConnection!}
}

export function authorizationRuleId(ref: AuthorizationRuleRef): string {
  const resources = [{type: 'namespaces', name: ref.namespace}]
  if (ref.hybridConnection) resources.push({type: 'hybridConnections', name: ref.hybridConnection})
  resources.push({type: 'authorizationRules', name: ref.rule})
  return formatResourceId({...scopeOf(ref), provider: 'Microsoft.Relay', resources})
}

export function parseAuthorizationRuleId(id: string): AuthorizationRuleRef {
  const {scope, names} = match(id, SHAPES.authorizationRule, 'Microsoft.Relay', [
    [
      ['namespaces', 'namespace'],
      ['authorizationRules', 'rule'],
    ],
    [
      ['namespaces', 'namespace'],
      ['hybridConnections', 'hybridConnection'],
      ['authorizationRules', 'rule'],
    ],
  ])
  const ref: AuthorizationRuleRef = {...scope, namespace: names.namespace!, rule: names.rule!}
  if (names.hybridConnection) ref.hybridConnection = names.hybridConnection
  return ref
}

export function webHybridConnectionId(ref: WebHybridConnectionRef): string {
  const resources = [{type: 'sites', name: ref.site}]
  if (ref.slot) resources.push({type: 'slots', name: ref.slot})
  resources.push({type: 'hybridConnectionNamespaces', name: ref.namespace}, {type: 'relays', name: ref.relay})
  return formatResourceId({...scopeOf(ref), provider: 'Microsoft.Web', resources})
}

export function parseWebHybridConnectionId(id: string): WebHybridConnectionRef {
  const {scope, names} = match(id, SHAPES.webHybridConnection, 'Microsoft.Web', [
    [
      ['sites', 'site'],
      ['hybridConnectionNamespaces', 'namespace'],
      ['relays', 'relay'],
    ],
    [
      ['sites', 'site'],
      ['slots', 'slot'],
      ['hybridConnectionNamespaces', 'namespace'],
      ['relays', 'relay'],
    ],
  ])
  const ref: WebHybridConnectionRef = {...scope, site: names.site!, namespace: names.namespace!, relay: names.relay!}
  if (names.slot) ref.slot = names.slot
  return ref
}

function scopeOf(ref: ResourceGroupScope): {subscriptionId: string; resourceGroup: string} {
  return {subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup}
}

// ---------------------------------------------------------------------------------------------
// Lenient forms: for ids that ARM hands back (relayArmUri, list items, plan ids), which may name
// a child of the resource wanted (a rule below a hybrid connection, a relay below a site) and
// drift in casing. They read key/value segment pairs wherever they are and never throw.

/** The key/value segment pairs of any id or path: keys lower-cased, names decoded, first one wins. */
export function resourceIdSegments(id: string): Map<string, string> {
  const parts = id.split('/').filter(Boolean)
  const out = new Map<string, string>()
  // providers/Microsoft.X is a key/value pair too; after it, pairs continue.
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i]!.toLowerCase()
    if (out.has(key)) continue
    try {
      out.set(key, decodeURIComponent(parts[i + 1]!))
    } catch {
      out.set(key, parts[i + 1]!)
    }
  }
  return out
}

/** The hybrid connection that `id` names or lies below (a rule id, for one); undefined if none. */
export function tryParseHybridConnectionId(id: string): HybridConnectionRef | undefined {
  const s = resourceIdSegments(id)
  const subscriptionId = s.get('subscriptions')
  const resourceGroup = s.get('resourcegroups')
  const namespace = s.get('namespaces')
  const hybridConnection = s.get('hybridconnections')
  if (!subscriptionId || !resourceGroup || !namespace || !hybridConnection) return undefined
  return {subscriptionId, resourceGroup, namespace, hybridConnection}
}

/** The relay namespace that `id` names or lies below; undefined if none. */
export function tryParseRelayNamespaceId(id: string): RelayNamespaceRef | undefined {
  const s = resourceIdSegments(id)
  const subscriptionId = s.get('subscriptions')
  const resourceGroup = s.get('resourcegroups')
  const namespace = s.get('namespaces')
  if (!subscriptionId || !resourceGroup || !namespace || s.get('providers')?.toLowerCase() !== 'microsoft.relay') return undefined
  return {subscriptionId, resourceGroup, namespace}
}

/** The App Service plan that `id` names or lies below; undefined if none. */
export function tryParseServerfarmId(id: string): ServerfarmRef | undefined {
  const s = resourceIdSegments(id)
  const subscriptionId = s.get('subscriptions')
  const resourceGroup = s.get('resourcegroups')
  const plan = s.get('serverfarms')
  if (!subscriptionId || !resourceGroup || !plan) return undefined
  return {subscriptionId, resourceGroup, plan}
}

/** The site or slot that `id` names or lies below; undefined if none. */
export function tryParseSiteId(id: string): SiteRef | undefined {
  const s = resourceIdSegments(id)
  const subscriptionId = s.get('subscriptions')
  const resourceGroup = s.get('resourcegroups')
  const site = s.get('sites')
  if (!subscriptionId || !resourceGroup || !site) return undefined
  const slot = s.get('slots')
  return slot ? {subscriptionId, resourceGroup, site, slot} : {subscriptionId, resourceGroup, site}
}
