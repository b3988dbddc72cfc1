import type {PlanSku} from '../state.js'

/**
 * App Service plan tiers as the service reports them (arm-surface.md §6.2) and what each allows
 * for hybrid connections (§3.4, §5): ineligible tiers, per-plan limits (Basic 5, Standard 25)
 * and per-app limits (Premium and Isolated families 220).
 */
const TIERS = [
  'Free', 'Shared', 'Basic', 'Standard', 'Premium', 'PremiumV2', 'PremiumV3', 'Premium0V3', 'PremiumMV3', 'PremiumContainer',
  'ElasticPremium', 'Isolated', 'IsolatedV2', 'IsolatedMV2', 'WorkflowStandard', 'Dynamic', 'FlexConsumption',
]

const SKU_PATTERNS: Array<[RegExp, string]> = [
  [/^F1$/i, 'Free'],
  [/^D1$/i, 'Shared'],
  [/^B[1-3]$/i, 'Basic'],
  [/^S[1-3]$/i, 'Standard'],
  [/^P[1-3]$/i, 'Premium'],
  [/^P[1-3]V2$/i, 'PremiumV2'],
  [/^P0V3$/i, 'Premium0V3'],
  [/^P[1-3]V3$/i, 'PremiumV3'],
  [/^P[1-5]MV3$/i, 'PremiumMV3'],
  [/^PC[2-4]$/i, 'PremiumContainer'],
  [/^EP[1-3]$/i, 'ElasticPremium'],
  [/^I[1-3]$/i, 'Isolated'],
  [/^I[1-6]V2$/i, 'IsolatedV2'],
  [/^I[1-5]MV2$/i, 'IsolatedMV2'],
  [/^WS[1-3]$/i, 'WorkflowStandard'],
  [/^Y1$/i, 'Dynamic'],
  [/^FC1$/i, 'FlexConsumption'],
]

const DEFAULT_SKU: Record<string, string> = {
  Free: 'F1', Shared: 'D1', Basic: 'B1', Standard: 'S1', Premium: 'P1', PremiumV2: 'P1v2', PremiumV3: 'P1v3', Premium0V3: 'P0v3',
  PremiumMV3: 'P1mv3', PremiumContainer: 'PC2', ElasticPremium: 'EP1', Isolated: 'I1', IsolatedV2: 'I1v2', IsolatedMV2: 'I1mv2',
  WorkflowStandard: 'WS1', Dynamic: 'Y1', FlexConsumption: 'FC1',
}

export function canonicalTier(tier: string): string | undefined {
  return TIERS.find((t) => t.toLowerCase() === tier.toLowerCase())
}

export function tierOfSkuName(name: string): string | undefined {
  return SKU_PATTERNS.find(([re]) => re.test(name))?.[1]
}

/** Builds the stored sku from a request's `{name?, tier?, capacity?}`; undefined when it names nothing known. */
export function resolveSku(input: {name?: unknown; tier?: unknown; capacity?: unknown} | undefined): PlanSku | undefined {
  const name = typeof input?.name === 'string' ? input.name : undefined
  const tierIn = typeof input?.tier === 'string' ? input.tier : undefined
  let tier = name ? tierOfSkuName(name) : undefined
  if (!tier && tierIn) tier = canonicalTier(tierIn)
  if (!tier && name) tier = canonicalTier(name)
  if (!tier) return undefined
  const skuName = name && tierOfSkuName(name) ? name.toUpperCase().replace(/V(\d)$/, 'v$1').replace(/MV(\d)$/, 'mv$1') : DEFAULT_SKU[tier]!
  const capacity = typeof input?.capacity === 'number' && input.capacity > 0 ? Math.floor(input.capacity) : tier === 'Dynamic' ? 0 : 1
  return {name: skuName, tier, size: skuName, family: skuName.replace(/\d.*$/, ''), capacity}
}

export interface HcLimit {
  eligible: boolean
  maximum: number
  /** 'plan': distinct connections across the plan's apps; 'app': per app. */
  scope: 'plan' | 'app'
}

export function hybridConnectionLimit(tier: string): HcLimit {
  switch (tier) {
    case 'Free':
    case 'Shared':
    case 'Dynamic':
    case 'FlexConsumption':
      return {eligible: false, maximum: 0, scope: 'plan'}
    case 'Basic':
      return {eligible: true, maximum: 5, scope: 'plan'}
    case 'Standard':
      return {eligible: true, maximum: 25, scope: 'plan'}
    default:
      return {eligible: true, maximum: 220, scope: 'app'}
  }
}
