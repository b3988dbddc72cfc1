import type {ArmClient} from '../azure/arm-types.js'
import {serverfarmId, siteId, tryParseServerfarmId, tryParseSiteId, webHybridConnectionId} from '../azure/resource-id.js'
import {UsageError} from '../errors.js'
import {appRefOf, siteRefOf, type AppRef, type PlanInfo, type SiteInfo, type WebHybridConnection} from './model.js'
import {statusOf} from './relay-port.js'

/**
 * Microsoft.Web calls of the feature (arm-surface.md §3, §5, §6), over the ARM client. The
 * api-version comes from the client's provider table.
 */
export class WebApi {
  constructor(
    private readonly arm: ArmClient,
    private readonly subscriptionId: string,
    private readonly signal?: AbortSignal,
  ) {}

  getSite(app: AppRef): Promise<SiteInfo | undefined> {
    return this.arm.get<SiteInfo>(siteId(siteRefOf(this.subscriptionId, app)), {allowNotFound: true, signal: this.signal})
  }

  listSlots(app: AppRef): Promise<SiteInfo[]> {
    return this.arm.list<SiteInfo>(`${siteId(siteRefOf(this.subscriptionId, {resourceGroup: app.resourceGroup, app: app.app}))}/slots`, {signal: this.signal})
  }

  getPlan(planId: string): Promise<PlanInfo | undefined> {
    return this.arm.get<PlanInfo>(planPath(planId), {allowNotFound: true, signal: this.signal})
  }

  /** Every plan of the subscription (one paged request). */
  listPlans(): Promise<PlanInfo[]> {
    return this.arm.list<PlanInfo>(`/subscriptions/${this.subscriptionId}/providers/Microsoft.Web/serverfarms`, {signal: this.signal})
  }

  async getPlanLimit(planId: string): Promise<{current: number; maximum: number} | undefined> {
    const r = await this.arm.get<{properties?: {current?: number; maximum?: number}}>(`${planPath(planId)}/hybridConnectionPlanLimits/limit`, {allowNotFound: true, signal: this.signal})
    const p = r?.properties
    if (!p || typeof p.maximum !== 'number') return undefined
    return {current: typeof p.current === 'number' ? p.current : 0, maximum: p.maximum}
  }

  listPlanRelays(planId: string): Promise<WebHybridConnection[]> {
    return this.arm.list<WebHybridConnection>(`${planPath(planId)}/hybridConnectionRelays`, {signal: this.signal})
  }

  /** The apps (and slots) of a plan that use one relay (P5; items are ids or {id,name} objects). */
  async listPlanRelayApps(planId: string, ns: string, hc: string): Promise<AppRef[]> {
    const items = await this.arm.list<unknown>(`${planPath(planId)}/hybridConnectionNamespaces/${encodeURIComponent(ns)}/relays/${encodeURIComponent(hc)}/sites`, {signal: this.signal})
    const apps: AppRef[] = []
    for (const item of items) {
      const id = typeof item === 'string' ? item : typeof item === 'object' && item && typeof (item as {id?: unknown}).id === 'string' ? (item as {id: string}).id : undefined
      const ref = id ? tryParseSiteId(id) : undefined
      if (ref) apps.push(appRefOf(ref))
    }
    return apps
  }

  /** The send key the plan's apps hold for a relay (P4); undefined when the service has none. */
  async listPlanRelayKey(planId: string, ns: string, hc: string): Promise<{sendKeyName?: string; sendKeyValue?: string} | undefined> {
    try {
      const r = await this.arm.request<{properties?: {sendKeyName?: string; sendKeyValue?: string}}>({
        method: 'POST',
        path: `${planPath(planId)}/hybridConnectionNamespaces/${encodeURIComponent(ns)}/relays/${encodeURIComponent(hc)}/listKeys`,
        idempotent: true,
        signal: this.signal,
      })
      return r.body?.properties
    } catch (error) {
      if (statusOf(error) === 404) return undefined
      throw error
    }
  }

  listSiteRelays(app: AppRef): Promise<WebHybridConnection[]> {
    return this.arm.list<WebHybridConnection>(`${siteId(siteRefOf(this.subscriptionId, app))}/hybridConnectionRelays`, {signal: this.signal})
  }

  getSiteRelay(app: AppRef, ns: string, hc: string): Promise<WebHybridConnection | undefined> {
    return this.arm.get<WebHybridConnection>(this.siteRelayPath(app, ns, hc), {allowNotFound: true, signal: this.signal})
  }

  async putSiteRelay(app: AppRef, ns: string, hc: string, body: WebRelayBody): Promise<WebHybridConnection> {
    const r = await this.arm.request<WebHybridConnection>({method: 'PUT', path: this.siteRelayPath(app, ns, hc), body, signal: this.signal})
    return r.body
  }

  /** Deletes the app's reference; false when it was already absent (Web answers 404). */
  async deleteSiteRelay(app: AppRef, ns: string, hc: string): Promise<boolean> {
    try {
      await this.arm.request({method: 'DELETE', path: this.siteRelayPath(app, ns, hc), signal: this.signal})
      return true
    } catch (error) {
      if (statusOf(error) === 404) return false
      throw error
    }
  }

  siteRelayPath(app: AppRef, ns: string, hc: string): string {
    return webHybridConnectionId({...siteRefOf(this.subscriptionId, app), namespace: ns, relay: hc})
  }
}

/** The plan's id, normalised; a UsageError when `planId` names no plan. */
function planPath(planId: string): string {
  const p = tryParseServerfarmId(planId)
  if (!p) throw new UsageError(`"${planId}" is not an App Service plan id.`, {code: 'InvalidResourceId'})
  return serverfarmId(p)
}

/** The body App Service expects (arm-surface.md §3.3). */
export interface WebRelayBody {
  name?: string
  type?: string
  location?: string
  properties: {
    serviceBusNamespace: string
    relayName: string
    relayArmUri: string
    hostname: string
    port: number
    sendKeyName: string
    sendKeyValue: string
    serviceBusSuffix: string
  }
}
