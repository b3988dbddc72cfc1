import {armError, resourceNotFound, webError, webNotFound} from '../../http.js'
import {armTime, eq, type PlanRec, planId, type SiteRec, siteId, type SlotRec} from '../../state.js'
import {type ArmCtx, type ArmResult, obj, paged, tagsOf} from '../context.js'

/** Microsoft.Web sites and deployment slots (arm-surface.md §5). */

const SITE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,58}[A-Za-z0-9])?$/

/** An app, or one of its slots: what the per-app routes (hybrid connections, Kudu) act on. */
export interface SiteTarget {
  site: SiteRec
  slot?: SlotRec
}

/** The ARM id of an app or slot. */
export function targetId(site: SiteRec, slot?: SlotRec): string {
  return slot ? `${siteId(site)}/slots/${slot.name}` : siteId(site)
}

/** One host name's TLS binding as Azure lists it (none bound in the emulator). */
function sslState(name: string, hostType: 'Standard' | 'Repository') {
  return {name, sslState: 'Disabled', ipBasedSslResult: null, virtualIP: null, thumbprint: null, toUpdate: null, toUpdateIpBasedSsl: null, ipBasedSslState: 'NotConfigured', hostType}
}

/**
 * An app or slot as Azure answers it: the property set recorded from real Azure (test/contract),
 * except `siteConfig`, the app's configuration (its own resource, sites/{app}/config/web),
 * which the emulator does not model. Addresses are loopback; build and stamp names are fixed.
 */
function siteBody(ctx: ArmCtx, site: SiteRec, slot?: SlotRec) {
  const plan = ctx.env.state.planById(slot?.serverFarmId ?? site.serverFarmId)
  const host = slot ? `${site.name}-${slot.name}${ctx.env.appServiceSuffix}` : `${site.name}${ctx.env.appServiceSuffix}`
  const scm = host.replace(/^([^.]+)/, '$1.scm')
  const kind = slot?.kind ?? site.kind
  const webSpace = `${site.resourceGroup}-${site.location.replace(/\s/g, '')}webspace`
  const user = slot ? `${site.name}__${slot.name}` : site.name
  return {
    id: slot ? `${siteId(site)}/slots/${slot.name}` : siteId(site),
    name: slot ? `${site.name}/${slot.name}` : site.name,
    type: slot ? 'Microsoft.Web/sites/slots' : 'Microsoft.Web/sites',
    kind,
    location: site.location,
    ...(site.tags ? {tags: site.tags} : {}),
    properties: {
      name: slot ? `${site.name}(${slot.name})` : site.name,
      state: 'Running',
      hostNames: [host],
      webSpace,
      selfLink: `${ctx.env.armUrl()}/subscriptions/${site.subscriptionId}/webspaces/${webSpace}/sites/${site.name}`,
      repositorySiteName: site.name,
      owner: null,
      usageState: 'Normal',
      enabled: true,
      adminEnabled: true,
      enabledHostNames: [host, scm],
      siteProperties: {metadata: null, properties: [{name: 'LinuxFxVersion', value: ''}, {name: 'WindowsFxVersion', value: null}], appSettings: null},
      availabilityState: 'Normal',
      sslCertificates: null,
      csrs: [],
      cers: null,
      siteMode: null,
      hostNameSslStates: [sslState(host, 'Standard'), sslState(scm, 'Repository')],
      computeMode: null,
      serverFarm: null,
      serverFarmId: slot?.serverFarmId ?? site.serverFarmId,
      reserved: /linux/i.test(kind),
      isXenon: false,
      hyperV: false,
      lastModifiedTimeUtc: (slot?.createdAt ?? site.createdAt).replace(/Z$/, ''),
      storageRecoveryDefaultState: 'Running',
      contentAvailabilityState: 'Normal',
      runtimeAvailabilityState: 'Normal',
      deploymentId: user,
      slotName: null,
      trafficManagerHostNames: null,
      sku: plan?.sku.tier ?? null,
      scmSiteAlsoStopped: false,
      targetSwapSlot: null,
      hostingEnvironment: null,
      hostingEnvironmentProfile: null,
      clientAffinityEnabled: true,
      clientCertEnabled: false,
      clientCertMode: 'Required',
      clientCertExclusionPaths: null,
      hostNamesDisabled: false,
      domainVerificationIdentifiers: null,
      customDomainVerificationId: '0'.repeat(64),
      kind,
      inboundIpAddress: '127.0.0.1',
      possibleInboundIpAddresses: '127.0.0.1',
      ftpUsername: `${user}\\$${user}`,
      ftpsHostName: `ftps://${scm}/site/wwwroot`,
      outboundIpAddresses: '127.0.0.1',
      possibleOutboundIpAddresses: '127.0.0.1',
      containerSize: 0,
      dailyMemoryTimeQuota: 0,
      suspendedTill: null,
      siteDisabledReason: 0,
      functionExecutionUnitsCache: null,
      maxNumberOfWorkers: null,
      homeStamp: 'waws-emulator',
      cloningInfo: null,
      hostingEnvironmentId: null,
      tags: site.tags ?? null,
      resourceGroup: site.resourceGroup,
      defaultHostName: host,
      slotSwapStatus: null,
      httpsOnly: false,
      redundancyMode: 'None',
      inProgressOperationId: null,
      geoDistributions: null,
      privateEndpointConnections: [],
      buildVersion: null,
      targetBuildVersion: null,
      migrationState: null,
      eligibleLogCategories: 'AppServiceAppLogs,AppServiceAuditLogs,AppServiceConsoleLogs,AppServiceHTTPLogs,AppServiceIPSecAuditLogs,AppServicePlatformLogs,ScanLogs',
      storageAccountRequired: false,
      virtualNetworkSubnetId: null,
      keyVaultReferenceIdentity: 'SystemAssigned',
    },
  }
}

export function requireSite(ctx: ArmCtx): SiteRec {
  const site = ctx.env.state.site(ctx.params.sub!, ctx.params.rg!, ctx.params.site!)
  if (!site) throw resourceNotFound(ctx.params.rg!, 'Microsoft.Web/sites', ctx.params.site!)
  return site
}


export function requireTarget(ctx: ArmCtx): SiteTarget {
  const site = requireSite(ctx)
  if (ctx.params.slot === undefined) return {site}
  const slot = site.slots.find((s) => eq(s.name, ctx.params.slot))
  if (!slot) throw resourceNotFound(ctx.params.rg!, 'Microsoft.Web/sites/slots', `${site.name}/${ctx.params.slot}`)
  return {site, slot}
}

export function listSitesBySubscription(ctx: ArmCtx): ArmResult {
  return paged(ctx, ctx.env.state.data.sites.filter((s) => eq(s.subscriptionId, ctx.params.sub)).map((s) => siteBody(ctx, s)), {nullNextLink: true})
}

export function listSitesByGroup(ctx: ArmCtx): ArmResult {
  const sites = ctx.env.state.data.sites.filter((s) => eq(s.subscriptionId, ctx.params.sub) && eq(s.resourceGroup, ctx.params.rg))
  return paged(ctx, sites.map((s) => siteBody(ctx, s)), {nullNextLink: true})
}

export function getSite(ctx: ArmCtx): ArmResult {
  const {site, slot} = requireTarget(ctx)
  return {status: 200, body: siteBody(ctx, site, slot)}
}

/** The plan a body's properties.serverFarmId names (404 when it names none); undefined when it names nothing. */
function planNamed(ctx: ArmCtx, serverFarmId: unknown): PlanRec | undefined {
  if (typeof serverFarmId !== 'string' || !serverFarmId) return undefined
  const plan = ctx.env.state.planById(serverFarmId)
  if (!plan) throw webNotFound('ServerFarm', serverFarmId.split('/').pop() ?? serverFarmId)
  return plan
}

function kindOf(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || !value.trim()) return fallback
  return value.trim()
}

export function putSite(ctx: ArmCtx): ArmResult {
  const {sub, rg, site: name} = ctx.params as {sub: string; rg: string; site: string}
  const body = obj(ctx.body)
  const props = obj(body.properties)
  if (!SITE_NAME.test(name)) throw webError(400, 'BadRequest', `The app name '${name}' is invalid: 1-60 letters, digits and hyphens, starting and ending with a letter or digit.`)
  const existing = ctx.env.state.site(sub, rg, name)
  const plan = planNamed(ctx, props.serverFarmId) ?? (existing ? ctx.env.state.planById(existing.serverFarmId) : undefined)
  if (existing) {
    if (plan) existing.serverFarmId = planId(plan)
    existing.kind = kindOf(body.kind, existing.kind)
    existing.tags = tagsOf(body.tags) ?? existing.tags
    return {status: 200, body: siteBody(ctx, existing)}
  }
  if (!plan) throw webError(400, 'BadRequest', 'properties.serverFarmId is required: the ARM id of an App Service plan.')
  if (typeof body.location !== 'string' || !body.location) throw armError(400, 'LocationRequired', 'The location property is required for this definition.')
  if (ctx.env.state.siteAnywhere(name)) {
    throw webError(409, 'Conflict', `Website with given name ${name} already exists.`, {extendedCode: '54001', messageTemplate: 'Website with given name {0} already exists.', parameters: [name]})
  }
  const site: SiteRec = {
    subscriptionId: ctx.env.state.subscription(sub)!.subscriptionId,
    resourceGroup: ctx.env.state.resourceGroup(sub, rg)!.name,
    name,
    location: body.location,
    kind: kindOf(body.kind, plan.reserved ? 'app,linux' : 'app'),
    tags: tagsOf(body.tags),
    serverFarmId: planId(plan),
    createdAt: armTime(),
    hybridConnections: [],
    slots: [],
  }
  ctx.env.state.data.sites.push(site)
  return {status: 200, body: siteBody(ctx, site)}
}

/**
 * PATCH of an app or slot (WebApps_Update, WebApps_UpdateSlot): merges what the body names.
 * Azure's SitePatchResource carries kind and properties, not location or tags; of its
 * properties the emulator models serverFarmId (moving the app to another plan).
 */
export function patchSite(ctx: ArmCtx): ArmResult {
  const {site, slot} = requireTarget(ctx)
  const body = obj(ctx.body)
  const plan = planNamed(ctx, obj(body.properties).serverFarmId)
  const target = slot ?? site
  target.kind = kindOf(body.kind, target.kind)
  if (plan) target.serverFarmId = planId(plan)
  return {status: 200, body: siteBody(ctx, site, slot)}
}

/**
 * POST /subscriptions/{sub}/providers/Microsoft.Web/checknameavailability: whether an app name
 * is free (app names are global, they are DNS names). `az webapp create` asks before its PUT.
 */
export function checkNameAvailability(ctx: ArmCtx): ArmResult {
  const body = obj(ctx.body)
  const name = typeof body.name === 'string' ? body.name : ''
  if (!name) throw webError(400, 'BadRequest', 'The request body needs a name, e.g. {"name": "my-app", "type": "Site"}.')
  if (!SITE_NAME.test(name)) return {status: 200, body: {nameAvailable: false, reason: 'Invalid', message: `The name '${name}' is invalid: 1-60 letters, digits and hyphens, starting and ending with a letter or digit.`}}
  if (ctx.env.state.siteAnywhere(name)) return {status: 200, body: {nameAvailable: false, reason: 'AlreadyExists', message: `Hostname '${name}' already exists. Please select a different name.`}}
  return {status: 200, body: {nameAvailable: true, reason: '', message: ''}}
}

export function deleteSite(ctx: ArmCtx): ArmResult {
  const site = ctx.env.state.site(ctx.params.sub!, ctx.params.rg!, ctx.params.site!)
  if (!site) throw webNotFound('Site', ctx.params.site!)
  ctx.env.state.data.sites = ctx.env.state.data.sites.filter((s) => s !== site)
  return {status: 200}
}

export function listSlots(ctx: ArmCtx): ArmResult {
  const site = requireSite(ctx)
  return paged(ctx, site.slots.map((slot) => siteBody(ctx, site, slot)), {nullNextLink: true})
}

export function putSlot(ctx: ArmCtx): ArmResult {
  const site = requireSite(ctx)
  const name = ctx.params.slot!
  if (!SITE_NAME.test(name)) throw webError(400, 'BadRequest', `The slot name '${name}' is invalid.`)
  const body = obj(ctx.body)
  const plan = planNamed(ctx, obj(body.properties).serverFarmId)
  let slot = site.slots.find((s) => eq(s.name, name))
  if (slot) {
    slot.kind = kindOf(body.kind, slot.kind)
    if (plan) slot.serverFarmId = planId(plan)
  } else {
    slot = {name, kind: kindOf(body.kind, site.kind), ...(plan ? {serverFarmId: planId(plan)} : {}), createdAt: armTime(), hybridConnections: []}
    site.slots.push(slot)
  }
  return {status: 200, body: siteBody(ctx, site, slot)}
}

export function deleteSlot(ctx: ArmCtx): ArmResult {
  const site = requireSite(ctx)
  const before = site.slots.length
  site.slots = site.slots.filter((s) => !eq(s.name, ctx.params.slot))
  if (site.slots.length === before) throw webNotFound('Site', `${site.name}/${ctx.params.slot}`)
  return {status: 200}
}
