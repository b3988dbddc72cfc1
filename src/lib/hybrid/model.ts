import type {SiteRef} from '../azure/resource-id.js'

/**
 * The shapes lib/hybrid works with: the Relay side (as @azure/arm-relay returns it) and the
 * Microsoft.Web side (as ARM returns it), reduced to what the use-cases need.
 */
export type Right = 'Listen' | 'Send' | 'Manage'

export interface RelayNamespaceInfo {
  id: string
  name: string
  location?: string
  provisioningState?: string
}

export interface RelayHybridConnection {
  id: string
  name: string
  requiresClientAuthorization: boolean
  userMetadata?: string
  listenerCount: number
  createdAt?: string
  updatedAt?: string
}

export interface AuthorizationRuleInfo {
  id?: string
  name: string
  rights: Right[]
}

/** A secret; never rendered without the user asking. */
export interface AccessKeys {
  keyName: string
  primaryKey: string
  secondaryKey: string
  primaryConnectionString?: string
  secondaryConnectionString?: string
}

export type KeyType = 'PrimaryKey' | 'SecondaryKey'

/** Microsoft.Web `HybridConnection` (site, slot or plan level). */
export interface WebHybridConnection {
  id: string
  name: string
  type?: string
  location?: string
  properties: {
    serviceBusNamespace?: string
    relayName?: string
    relayArmUri?: string
    hostname?: string
    port?: number
    sendKeyName?: string
    sendKeyValue?: string
    serviceBusSuffix?: string
  }
}

export interface SiteInfo {
  id: string
  name: string
  kind?: string
  location?: string
  properties?: {serverFarmId?: string; sku?: string; reserved?: boolean; state?: string}
}

export interface PlanInfo {
  id: string
  name: string
  location?: string
  kind?: string
  sku?: {name?: string; tier?: string}
  properties?: {numberOfSites?: number}
}

/** An app or one of its slots. */
export interface AppRef {
  resourceGroup: string
  app: string
  slot?: string
}

/** The ARM reference of an app (or slot) in a subscription. */
export function siteRefOf(subscriptionId: string, a: AppRef): SiteRef {
  return {subscriptionId, resourceGroup: a.resourceGroup, site: a.app, ...(a.slot ? {slot: a.slot} : {})}
}

/** The app (or slot) a site reference names. */
export function appRefOf(s: SiteRef): AppRef {
  return {resourceGroup: s.resourceGroup, app: s.site, ...(s.slot ? {slot: s.slot} : {})}
}

export function appLabel(a: AppRef): string {
  return a.slot ? `${a.app}/${a.slot}` : a.app
}

export function sameApp(a: AppRef, b: AppRef): boolean {
  return (
    a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase() &&
    a.app.toLowerCase() === b.app.toLowerCase() &&
    (a.slot ?? '').toLowerCase() === (b.slot ?? '').toLowerCase()
  )
}

/** What a use-case did to one resource. */
export interface Step {
  /** e.g. "namespace", "hybrid connection", "rule defaultSender", "app web-1" */
  resource: string
  /** ARM id (or path) of the resource. */
  id: string
  action: 'create' | 'update' | 'delete' | 'regenerate-key' | 'none'
  /** done = changed now; planned = --dry-run; unchanged = already as wanted (left alone). */
  status: 'done' | 'planned' | 'unchanged'
  detail?: string
}

/** One call a dry run would make (keys redacted). */
export interface PlannedCall {
  method: 'PUT' | 'PATCH' | 'POST' | 'DELETE'
  path: string
  body?: unknown
}

/** The common part of every provisioning result: found, changed, left alone. */
export interface ProvisioningOutcome {
  dryRun: boolean
  /** True when something was (or, in a dry run, would be) changed. */
  changed: boolean
  steps: Step[]
  warnings: string[]
  /** Only with --dry-run: the calls that would be made. */
  plannedCalls?: PlannedCall[]
}
