import {endpointFor, formatConnectionString} from '../../lib/relay/connection-string.js'
import type {RelayRight, SasRule} from '../contracts.js'
import {armError, resourceNotFound} from '../http.js'
import {
  armTime,
  eq,
  type HybridConnectionRec,
  hybridConnectionId,
  type NamespaceRec,
  namespaceId,
  newKey,
  newRule,
} from '../state.js'
import {type ArmCtx, type ArmResult, atLeast, obj, paged, systemData, tagsOf} from './context.js'

/** Microsoft.Relay: namespaces, namespace rules, hybrid connections and their rules (arm-surface.md §7, §8). */

const NAMESPACE_NAME = /^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$/
const RULE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$/
const HC_NAME = /^[A-Za-z0-9]([A-Za-z0-9._\-/]{0,258}[A-Za-z0-9])?$/
const RIGHTS: RelayRight[] = ['Listen', 'Send', 'Manage']
const ROOT_RULE = 'RootManageSharedAccessKey'

function by(ctx: ArmCtx): string {
  return ctx.principal.clientId
}

function namespaceBody(ctx: ArmCtx, ns: NamespaceRec) {
  const pending = ns.pendingPolls > 0
  return {
    sku: {name: 'Standard', tier: 'Standard'},
    id: namespaceId(ns),
    name: ns.name,
    type: 'Microsoft.Relay/Namespaces',
    location: ns.location,
    tags: ns.tags ?? {},
    ...(atLeast(ctx.apiVersion, '2021-11-01') ? {systemData: systemData(ns.createdAt, ns.updatedAt, by(ctx))} : {}),
    properties: {
      provisioningState: pending ? 'Created' : 'Succeeded',
      status: pending ? 'Activating' : 'Active',
      createdAt: ns.createdAt,
      updatedAt: ns.updatedAt,
      serviceBusEndpoint: `https://${ns.name}${ctx.env.relaySuffix}:443/`,
      metricId: `${ns.subscriptionId}:${ns.name.toLowerCase()}`,
      ...(atLeast(ctx.apiVersion, '2021-11-01') ? {publicNetworkAccess: 'Enabled', privateEndpointConnections: []} : {}),
    },
  }
}

function hcBody(ctx: ArmCtx, ns: NamespaceRec, hc: HybridConnectionRec) {
  return {
    id: hybridConnectionId(ns, hc.name),
    name: hc.name,
    type: 'Microsoft.Relay/namespaces/hybridConnections',
    location: ns.location,
    ...(atLeast(ctx.apiVersion, '2021-11-01') ? {systemData: systemData(hc.createdAt, hc.updatedAt, by(ctx))} : {}),
    properties: {
      createdAt: hc.createdAt,
      updatedAt: hc.updatedAt,
      listenerCount: ctx.env.runtime.listenerCount(ns.name, hc.name),
      requiresClientAuthorization: hc.requiresClientAuthorization,
      ...(hc.userMetadata !== undefined ? {userMetadata: hc.userMetadata} : {}),
    },
  }
}

function ruleBody(ctx: ArmCtx, ns: NamespaceRec, hc: HybridConnectionRec | undefined, rule: SasRule) {
  return {
    id: `${hc ? hybridConnectionId(ns, hc.name) : namespaceId(ns)}/authorizationRules/${rule.name}`,
    name: rule.name,
    type: hc ? 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules' : 'Microsoft.Relay/namespaces/authorizationRules',
    location: ns.location,
    properties: {rights: [...rule.rights]},
  }
}

function keysBody(ctx: ArmCtx, ns: NamespaceRec, hc: HybridConnectionRec | undefined, rule: SasRule) {
  const endpoint = endpointFor(`${ns.name}${ctx.env.relaySuffix}`)
  const cs = (key: string) => formatConnectionString({endpoint, sharedAccessKeyName: rule.name, sharedAccessKey: key, entityPath: hc?.name})
  return {
    primaryConnectionString: cs(rule.primaryKey),
    secondaryConnectionString: cs(rule.secondaryKey),
    primaryKey: rule.primaryKey,
    secondaryKey: rule.secondaryKey,
    keyName: rule.name,
  }
}

function notFound(kind: string, name: string): never {
  throw armError(404, 'NotFound', `The ${kind} '${name}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`)
}

function requireNamespace(ctx: ArmCtx): NamespaceRec {
  const ns = ctx.env.state.namespace(ctx.params.sub!, ctx.params.rg!, ctx.params.ns!)
  if (!ns) throw resourceNotFound(ctx.params.rg!, 'Microsoft.Relay/namespaces', ctx.params.ns!)
  return ns
}

function requireHc(ctx: ArmCtx, ns: NamespaceRec): HybridConnectionRec {
  const hc = ns.hybridConnections.find((h) => eq(h.name, ctx.params.hc))
  if (!hc) notFound('hybrid connection', `${ns.name}/${ctx.params.hc}`)
  return hc
}

function rulesOf(ctx: ArmCtx): {ns: NamespaceRec; hc?: HybridConnectionRec; rules: SasRule[]} {
  const ns = requireNamespace(ctx)
  if (ctx.params.hc === undefined) return {ns, rules: ns.rules}
  const hc = requireHc(ctx, ns)
  return {ns, hc, rules: hc.rules}
}

// ── namespaces ────────────────────────────────────────────────────────────────────────────

export function listNamespacesBySubscription(ctx: ArmCtx): ArmResult {
  const all = ctx.env.state.data.namespaces.filter((n) => eq(n.subscriptionId, ctx.params.sub))
  return paged(ctx, all.map((n) => namespaceBody(ctx, n)))
}

export function listNamespacesByGroup(ctx: ArmCtx): ArmResult {
  const all = ctx.env.state.data.namespaces.filter((n) => eq(n.subscriptionId, ctx.params.sub) && eq(n.resourceGroup, ctx.params.rg))
  return paged(ctx, all.map((n) => namespaceBody(ctx, n)))
}

export function getNamespace(ctx: ArmCtx): ArmResult {
  const ns = requireNamespace(ctx)
  if (ns.pendingPolls > 0) {
    ns.pendingPolls--
    ctx.env.state.save()
  }
  return {status: 200, body: namespaceBody(ctx, ns)}
}

export function putNamespace(ctx: ArmCtx): ArmResult {
  const {sub, rg, ns: name} = ctx.params as {sub: string; rg: string; ns: string}
  const body = obj(ctx.body)
  if (!NAMESPACE_NAME.test(name)) {
    throw armError(400, 'BadRequest', `The specified namespace name '${name}' is invalid: 6-50 letters, digits and hyphens, starting with a letter and ending with a letter or digit. To know more visit https://aka.ms/sbResourceMgrExceptions.`)
  }
  const sku = obj(body.sku)
  if (sku.name !== undefined && String(sku.name).toLowerCase() !== 'standard') {
    throw armError(400, 'BadRequest', `The SKU '${String(sku.name)}' is not supported for Relay namespaces; use Standard.`)
  }
  const existing = ctx.env.state.namespace(sub, rg, name)
  const now = armTime()
  if (existing) {
    existing.tags = tagsOf(body.tags) ?? existing.tags
    existing.updatedAt = now
    return {status: 200, body: namespaceBody(ctx, existing)}
  }
  if (typeof body.location !== 'string' || !body.location) throw armError(400, 'LocationRequired', 'The location property is required for this definition.')
  const elsewhere = ctx.env.state.namespaceAnywhere(name)
  if (elsewhere) {
    throw armError(409, 'Conflict', `The namespace name '${name}' is already in use (namespace names are global). Choose another name; checkNameAvailability tells you which are free.`)
  }
  const ns: NamespaceRec = {
    subscriptionId: ctx.env.state.subscription(sub)!.subscriptionId,
    resourceGroup: ctx.env.state.resourceGroup(sub, rg)!.name,
    name,
    location: body.location,
    tags: tagsOf(body.tags),
    createdAt: now,
    updatedAt: now,
    pendingPolls: ctx.env.lroPolls,
    rules: [newRule(ROOT_RULE, ['Listen', 'Manage', 'Send'])],
    hybridConnections: [],
  }
  ctx.env.state.data.namespaces.push(ns)
  return {status: 200, body: namespaceBody(ctx, ns)}
}

export function patchNamespace(ctx: ArmCtx): ArmResult {
  const ns = requireNamespace(ctx)
  const body = obj(ctx.body)
  ns.tags = tagsOf(body.tags) ?? ns.tags
  ns.updatedAt = armTime()
  return {status: 200, body: namespaceBody(ctx, ns)}
}

export function deleteNamespace(ctx: ArmCtx): ArmResult {
  const {sub, rg, ns: name} = ctx.params as {sub: string; rg: string; ns: string}
  const ns = ctx.env.state.namespace(sub, rg, name)
  if (!ns) return {status: 204}
  for (const hc of ns.hybridConnections) ctx.env.runtime.entityDeleted(ns.name, hc.name)
  const snapshot = namespaceBody(ctx, ns)
  ;(snapshot.properties as Record<string, unknown>).status = 'Removing'
  ;(snapshot.properties as Record<string, unknown>).provisioningState = 'Deleting'
  ctx.env.state.data.namespaces = ctx.env.state.data.namespaces.filter((n) => n !== ns)
  const id = namespaceId(ns)
  ctx.env.pendingDeletes.set(id.toLowerCase(), {polls: ctx.env.lroPolls, body: snapshot})
  return {status: 202, headers: operationHeaders(ctx, `${id}/operationresults/${ns.name}`)}
}

function operationHeaders(ctx: ArmCtx, path: string): Record<string, string> {
  return {
    location: `${ctx.env.armUrl()}${path}?api-version=${ctx.apiVersion}`,
    ...(ctx.env.retryAfterSeconds !== undefined ? {'retry-after': String(ctx.env.retryAfterSeconds)} : {}),
  }
}

/** GET .../namespaces/{ns}/operationresults/{id}: 202 with the Removing body while "running", then 200 empty. */
export function namespaceOperationResult(ctx: ArmCtx): ArmResult {
  const id = `/subscriptions/${ctx.params.sub}/resourceGroups/${ctx.params.rg}/providers/Microsoft.Relay/namespaces/${ctx.params.ns}`
  const pending = ctx.env.pendingDeletes.get(id.toLowerCase())
  if (pending && pending.polls > 0) {
    pending.polls--
    return {status: 202, body: pending.body, headers: operationHeaders(ctx, `${id}/operationresults/${ctx.params.op}`)}
  }
  ctx.env.pendingDeletes.delete(id.toLowerCase())
  return {status: 200}
}

export function checkNameAvailability(ctx: ArmCtx): ArmResult {
  const body = obj(ctx.body)
  const name = body.name
  if (typeof name !== 'string' || !name) throw armError(400, 'BadRequest', 'The request body must contain "name".')
  if (!NAMESPACE_NAME.test(name)) {
    return {status: 200, body: {nameAvailable: false, reason: 'InvalidName', message: `The specified name '${name}' is not valid: 6-50 letters, digits and hyphens, starting with a letter and ending with a letter or digit.`}}
  }
  if (ctx.env.state.namespaceAnywhere(name)) {
    return {status: 200, body: {nameAvailable: false, reason: 'NameInUse', message: `The specified name '${name}' is already in use.`}}
  }
  return {status: 200, body: {nameAvailable: true, reason: 'None', message: ''}}
}

// ── hybrid connections ────────────────────────────────────────────────────────────────────

export function listHybridConnections(ctx: ArmCtx): ArmResult {
  const ns = requireNamespace(ctx)
  return paged(ctx, ns.hybridConnections.map((h) => hcBody(ctx, ns, h)))
}

export function getHybridConnection(ctx: ArmCtx): ArmResult {
  const ns = requireNamespace(ctx)
  return {status: 200, body: hcBody(ctx, ns, requireHc(ctx, ns))}
}

export function putHybridConnection(ctx: ArmCtx): ArmResult {
  const ns = requireNamespace(ctx)
  const name = ctx.params.hc!
  if (!HC_NAME.test(name)) {
    throw armError(400, 'BadRequest', `The hybrid connection name '${name}' is invalid: 1-260 letters, digits, '.', '-', '_' and '/', starting and ending with a letter or digit.`)
  }
  const props = obj(obj(ctx.body).properties)
  if (props.requiresClientAuthorization !== undefined && typeof props.requiresClientAuthorization !== 'boolean') {
    throw armError(400, 'BadRequest', 'properties.requiresClientAuthorization must be true or false.')
  }
  if (props.userMetadata !== undefined && props.userMetadata !== null && typeof props.userMetadata !== 'string') {
    throw armError(400, 'BadRequest', 'properties.userMetadata must be a string.')
  }
  const now = armTime()
  let hc = ns.hybridConnections.find((h) => eq(h.name, name))
  if (hc) {
    if (typeof props.requiresClientAuthorization === 'boolean') hc.requiresClientAuthorization = props.requiresClientAuthorization
    if (typeof props.userMetadata === 'string') hc.userMetadata = props.userMetadata
    else if (props.userMetadata === null) delete hc.userMetadata
    hc.updatedAt = now
  } else {
    hc = {
      name,
      requiresClientAuthorization: props.requiresClientAuthorization === false ? false : true,
      ...(typeof props.userMetadata === 'string' ? {userMetadata: props.userMetadata} : {}),
      createdAt: now,
      updatedAt: now,
      rules: [],
    }
    ns.hybridConnections.push(hc)
  }
  return {status: 200, body: hcBody(ctx, ns, hc)}
}

export function deleteHybridConnection(ctx: ArmCtx): ArmResult {
  const ns = ctx.env.state.namespace(ctx.params.sub!, ctx.params.rg!, ctx.params.ns!)
  const hc = ns?.hybridConnections.find((h) => eq(h.name, ctx.params.hc))
  if (!ns || !hc) return {status: 204}
  ns.hybridConnections = ns.hybridConnections.filter((h) => h !== hc)
  ctx.env.runtime.entityDeleted(ns.name, hc.name)
  return {status: 200}
}

// ── authorization rules (namespace and hybrid connection) ─────────────────────────────────

export function listRules(ctx: ArmCtx): ArmResult {
  const {ns, hc, rules} = rulesOf(ctx)
  return paged(ctx, rules.map((r) => ruleBody(ctx, ns, hc, r)))
}

function requireRule(ctx: ArmCtx, rules: SasRule[]): SasRule {
  const rule = rules.find((r) => eq(r.name, ctx.params.rule))
  if (!rule) notFound('authorization rule', ctx.params.rule!)
  return rule
}

export function getRule(ctx: ArmCtx): ArmResult {
  const {ns, hc, rules} = rulesOf(ctx)
  return {status: 200, body: ruleBody(ctx, ns, hc, requireRule(ctx, rules))}
}

export function putRule(ctx: ArmCtx): ArmResult {
  const {ns, hc, rules} = rulesOf(ctx)
  const name = ctx.params.rule!
  if (!RULE_NAME.test(name)) {
    throw armError(400, 'BadRequest', `The authorization rule name '${name}' is invalid: 1-50 letters, digits, '.', '-' and '_', starting and ending with a letter or digit.`)
  }
  const rightsIn = obj(obj(ctx.body).properties).rights
  if (!Array.isArray(rightsIn) || rightsIn.length === 0) {
    throw armError(400, 'BadRequest', "properties.rights is required: a non-empty list of 'Listen', 'Send' and 'Manage'.")
  }
  const rights: RelayRight[] = []
  for (const r of rightsIn) {
    const right = RIGHTS.find((x) => typeof r === 'string' && x.toLowerCase() === r.toLowerCase())
    if (!right) throw armError(400, 'BadRequest', `The access right '${String(r)}' is not valid; use Listen, Send and Manage.`)
    if (rights.includes(right)) throw armError(400, 'BadRequest', `The access right '${right}' appears twice in properties.rights.`)
    rights.push(right)
  }
  let rule = rules.find((r) => eq(r.name, name))
  if (rule) rule.rights = rights
  else {
    rule = newRule(name, rights)
    rules.push(rule)
  }
  if (hc) hc.updatedAt = armTime()
  return {status: 200, body: ruleBody(ctx, ns, hc, rule)}
}

export function deleteRule(ctx: ArmCtx): ArmResult {
  const ns = ctx.env.state.namespace(ctx.params.sub!, ctx.params.rg!, ctx.params.ns!)
  if (!ns) return {status: 204}
  let owner: {rules: SasRule[]} = ns
  if (ctx.params.hc !== undefined) {
    const hc = ns.hybridConnections.find((h) => eq(h.name, ctx.params.hc))
    if (!hc) return {status: 204}
    owner = hc
  }
  const before = owner.rules.length
  owner.rules = owner.rules.filter((r) => !eq(r.name, ctx.params.rule))
  return {status: owner.rules.length < before ? 200 : 204}
}

export function listKeys(ctx: ArmCtx): ArmResult {
  const {ns, hc, rules} = rulesOf(ctx)
  return {status: 200, body: keysBody(ctx, ns, hc, requireRule(ctx, rules))}
}

export function regenerateKeys(ctx: ArmCtx): ArmResult {
  const {ns, hc, rules} = rulesOf(ctx)
  const rule = requireRule(ctx, rules)
  const body = obj(ctx.body)
  const keyType = typeof body.keyType === 'string' ? body.keyType.toLowerCase() : ''
  if (keyType !== 'primarykey' && keyType !== 'secondarykey') {
    throw armError(400, 'BadRequest', "keyType is required and must be 'PrimaryKey' or 'SecondaryKey'.")
  }
  let key = newKey()
  if (body.key !== undefined && body.key !== null) {
    if (typeof body.key !== 'string' || body.key.length < 1 || body.key.length > 256) {
      throw armError(400, 'BadRequest', 'key, when given, must be a string of 1-256 characters (a base64-encoded 256-bit key is usual).')
    }
    key = body.key
  }
  if (keyType === 'primarykey') rule.primaryKey = key
  else rule.secondaryKey = key
  return {status: 200, body: keysBody(ctx, ns, hc, rule)}
}
