/**
 * App Service plan eligibility and hybrid-connection limits (arm-surface.md §3.4, §5, §6.2;
 * field-notes pain points 10 and 11). The plan's own `hybridConnectionPlanLimits/limit` is the
 * authority at run time; this table explains it and gates before any write.
 */
export type LimitScope = 'plan' | 'app'

export interface TierRule {
  /** The tier as ARM reported it. */
  tier: string
  eligible: boolean
  /** Basic and Standard count per plan; Premium and Isolated per app. */
  scope?: LimitScope
  /** The documented maximum (the service's `limit` wins when present). */
  maximum?: number
  /** Why not, for people. */
  reason?: string
}

const INELIGIBLE: Record<string, string> = {
  free: 'Free plans do not support hybrid connections',
  shared: 'Shared plans do not support hybrid connections',
  dynamic: 'Consumption (Dynamic) function plans do not support hybrid connections',
  consumption: 'Consumption plans do not support hybrid connections',
  flexconsumption: 'Flex Consumption plans do not support hybrid connections',
}

/** Classifies a plan tier (`sku.tier`, compared case-insensitively). */
export function tierRule(tier: string | undefined): TierRule {
  const t = (tier ?? '').trim()
  const key = t.toLowerCase().replace(/[\s_-]/g, '')
  if (key === '') return {tier: t, eligible: true, reason: 'the plan reports no tier; the service decides'}
  if (INELIGIBLE[key]) return {tier: t, eligible: false, reason: INELIGIBLE[key]}
  if (key === 'basic') return {tier: t, eligible: true, scope: 'plan', maximum: 5}
  if (key === 'standard') return {tier: t, eligible: true, scope: 'plan', maximum: 25}
  if (key.startsWith('premium') || key.startsWith('isolated') || key === 'elasticpremium' || key === 'workflowstandard') {
    return {tier: t, eligible: true, scope: 'app', maximum: 220}
  }
  return {tier: t, eligible: true, reason: `the tier "${t}" is not in hcctl's table; the service decides`}
}

/** Tier from a SKU name when the tier itself is missing (F1, D1, B1, S1, P1V3, Y1, ...). */
export function tierFromSkuName(name: string | undefined): string | undefined {
  if (!name) return undefined
  const n = name.toUpperCase()
  if (n === 'F1' || n === 'FREE') return 'Free'
  if (n === 'D1' || n === 'SHARED') return 'Shared'
  if (n === 'Y1') return 'Dynamic'
  if (n === 'FC1') return 'FlexConsumption'
  if (/^B\d$/.test(n)) return 'Basic'
  if (/^S\d$/.test(n)) return 'Standard'
  if (/^EP\d$/.test(n)) return 'ElasticPremium'
  if (/^WS\d$/.test(n)) return 'WorkflowStandard'
  if (/^I\d+MV2$/.test(n)) return 'IsolatedMV2'
  if (/^I\d+V2$/.test(n)) return 'IsolatedV2'
  if (/^I\d$/.test(n)) return 'Isolated'
  if (/^P\d+MV3$/.test(n)) return 'PremiumMV3'
  if (/^P0V3$/.test(n)) return 'Premium0V3'
  if (/^P\d+V3$/.test(n)) return 'PremiumV3'
  if (/^P\d+V2$/.test(n)) return 'PremiumV2'
  if (/^PC\d$/.test(n)) return 'PremiumContainer'
  if (/^P\d$/.test(n)) return 'Premium'
  return undefined
}

/** A relay as counted in a plan: namespace + hybrid connection name, case-insensitive. */
export function relayKey(namespace: string, name: string): string {
  return `${namespace.toLowerCase()}/${name.toLowerCase()}`
}

export interface LimitDecision {
  ok: boolean
  alreadyCounted: boolean
  current: number
  maximum: number
  scope: LimitScope
}

/**
 * Would attaching `key` exceed the limit? `counted` are the relays already counted in the scope
 * (the plan for Basic/Standard, the app for Premium/Isolated); one used by several apps counts once.
 */
export function decideLimit(key: string, counted: string[], maximum: number, scope: LimitScope, reportedCurrent?: number): LimitDecision {
  const distinct = new Set(counted.map((k) => k.toLowerCase()))
  const alreadyCounted = distinct.has(key.toLowerCase())
  const current = Math.max(distinct.size, scope === 'plan' ? (reportedCurrent ?? 0) : 0)
  return {ok: alreadyCounted || current < maximum, alreadyCounted, current, maximum, scope}
}
