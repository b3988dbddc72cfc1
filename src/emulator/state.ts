import {randomBytes, randomUUID} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import type {SasRule} from './contracts.js'

/**
 * The emulator's Azure-side state: principals, subscriptions, resource groups, Relay namespaces
 * (with hybrid connections and rules), App Service plans and sites (with slots and their
 * hybrid-connection contracts). Plain JSON, written atomically (temp file + rename) after each
 * change when a file is given; lookups are case-insensitive, stored names keep their casing.
 */

export interface Principal {
  clientId: string
  clientSecret: string
  objectId: string
  displayName: string
  role: 'Contributor' | 'Reader'
}

export interface SubscriptionRec {
  subscriptionId: string
  displayName: string
}

export interface ResourceGroupRec {
  subscriptionId: string
  name: string
  location: string
  tags?: Record<string, string>
}

export interface HybridConnectionRec {
  name: string
  requiresClientAuthorization: boolean
  userMetadata?: string
  createdAt: string
  updatedAt: string
  rules: SasRule[]
}

export interface NamespaceRec {
  subscriptionId: string
  resourceGroup: string
  name: string
  location: string
  tags?: Record<string, string>
  createdAt: string
  updatedAt: string
  /** GETs left before provisioningState flips to Succeeded (the LRO). */
  pendingPolls: number
  rules: SasRule[]
  hybridConnections: HybridConnectionRec[]
}

export interface PlanSku {
  name: string
  tier: string
  size: string
  family: string
  capacity: number
}

export interface PlanRec {
  subscriptionId: string
  resourceGroup: string
  name: string
  location: string
  kind: string
  tags?: Record<string, string>
  sku: PlanSku
  reserved: boolean
  pendingPolls: number
  createdAt: string
}

/** The Microsoft.Web hybrid-connection contract on a site or slot (sendKeyValue stored, never returned). */
export interface WebHcRec {
  serviceBusNamespace: string
  relayName: string
  relayArmUri: string
  hostname: string
  port: number
  sendKeyName: string
  sendKeyValue: string
  serviceBusSuffix: string
}

export interface SlotRec {
  name: string
  kind: string
  serverFarmId?: string
  createdAt: string
  hybridConnections: WebHcRec[]
}

export interface SiteRec {
  subscriptionId: string
  resourceGroup: string
  name: string
  location: string
  kind: string
  tags?: Record<string, string>
  serverFarmId: string
  createdAt: string
  hybridConnections: WebHcRec[]
  slots: SlotRec[]
}

export interface StateData {
  version: 1
  tenantId: string
  principals: {contributor: Principal; reader: Principal}
  subscriptions: SubscriptionRec[]
  resourceGroups: ResourceGroupRec[]
  namespaces: NamespaceRec[]
  plans: PlanRec[]
  sites: SiteRec[]
}

export const DEFAULT_LOCATION = 'westeurope'

export function newKey(): string {
  return randomBytes(32).toString('base64')
}

export function newRule(name: string, rights: SasRule['rights']): SasRule {
  return {name, rights: [...rights], primaryKey: newKey(), secondaryKey: newKey()}
}

/** ARM's timestamp style: seven fractional digits (`2023-08-22T11:33:01.1058103Z`). */
export function armTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
}

function principal(role: Principal['role'], displayName: string): Principal {
  return {clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url'), objectId: randomUUID(), displayName, role}
}

export function freshState(): StateData {
  return {
    version: 1,
    tenantId: randomUUID(),
    principals: {contributor: principal('Contributor', 'hcctl-emulator-contributor'), reader: principal('Reader', 'hcctl-emulator-reader')},
    subscriptions: [{subscriptionId: randomUUID(), displayName: 'Emulator Subscription'}],
    resourceGroups: [],
    namespaces: [],
    plans: [],
    sites: [],
  }
}

export const eq = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase()

export class StateStore {
  /** `file` undefined = in memory only. */
  constructor(
    public data: StateData,
    private readonly file?: string,
  ) {}

  static open(file: string | undefined): StateStore {
    if (file && existsSync(file)) {
      let parsed: StateData
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8')) as StateData
      } catch (error) {
        throw new Error(`The emulator state file ${file} is not valid JSON (${(error as Error).message}); move it away to start fresh.`)
      }
      if (parsed.version !== 1 || !parsed.principals || !Array.isArray(parsed.subscriptions)) {
        throw new Error(`The emulator state file ${file} has an unknown format; move it away to start fresh.`)
      }
      return new StateStore(parsed, file)
    }
    const store = new StateStore(freshState(), file)
    store.save()
    return store
  }

  get persistent(): boolean {
    return this.file !== undefined
  }

  /** Atomic write: a temp file beside the target, then rename. */
  save(): void {
    if (!this.file) return
    mkdirSync(dirname(this.file), {recursive: true})
    const tmp = join(dirname(this.file), `.state.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    writeFileSync(tmp, JSON.stringify(this.data, null, 2), {mode: 0o600})
    renameSync(tmp, this.file)
  }

  get defaultSubscriptionId(): string {
    return this.data.subscriptions[0]!.subscriptionId
  }

  subscription(id: string): SubscriptionRec | undefined {
    return this.data.subscriptions.find((s) => eq(s.subscriptionId, id))
  }

  resourceGroup(sub: string, rg: string): ResourceGroupRec | undefined {
    return this.data.resourceGroups.find((g) => eq(g.subscriptionId, sub) && eq(g.name, rg))
  }

  namespace(sub: string, rg: string, name: string): NamespaceRec | undefined {
    return this.data.namespaces.find((n) => eq(n.subscriptionId, sub) && eq(n.resourceGroup, rg) && eq(n.name, name))
  }

  /** Namespace names are global (DNS): any subscription. */
  namespaceAnywhere(name: string): NamespaceRec | undefined {
    return this.data.namespaces.find((n) => eq(n.name, name))
  }

  plan(sub: string, rg: string, name: string): PlanRec | undefined {
    return this.data.plans.find((p) => eq(p.subscriptionId, sub) && eq(p.resourceGroup, rg) && eq(p.name, name))
  }

  planById(id: string | undefined): PlanRec | undefined {
    if (!id) return undefined
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/serverfarms\/([^/]+)\/?$/i.exec(id.trim())
    return m ? this.plan(m[1]!, m[2]!, m[3]!) : undefined
  }

  site(sub: string, rg: string, name: string): SiteRec | undefined {
    return this.data.sites.find((s) => eq(s.subscriptionId, sub) && eq(s.resourceGroup, rg) && eq(s.name, name))
  }

  siteAnywhere(name: string): SiteRec | undefined {
    return this.data.sites.find((s) => eq(s.name, name))
  }
}

export function planId(p: Pick<PlanRec, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${p.subscriptionId}/resourceGroups/${p.resourceGroup}/providers/Microsoft.Web/serverfarms/${p.name}`
}

export function siteId(s: Pick<SiteRec, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Web/sites/${s.name}`
}

export function namespaceId(n: Pick<NamespaceRec, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${n.subscriptionId}/resourceGroups/${n.resourceGroup}/providers/Microsoft.Relay/namespaces/${n.name}`
}

export function hybridConnectionId(n: NamespaceRec, hc: string): string {
  return `${namespaceId(n)}/hybridConnections/${hc}`
}
