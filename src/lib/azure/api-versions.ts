/**
 * The api-version hcctl speaks to each resource provider: one table, so that a version bump is
 * one line. Sources: /work/shared/reference/arm-surface.md §0.3.
 *
 * * Microsoft.Relay 2021-11-01 for raw calls (stable, adds systemData; the shapes hcctl uses are
 *   identical to 2017-04-01, which `@azure/arm-relay@3` sends by itself).
 * * Microsoft.Web 2025-05-01: the latest stable spec and the `@azure/arm-appservice` default.
 * * Microsoft.Resources 2022-09-01: subscriptions and resource groups (paths with no provider).
 */
export const API_VERSIONS: Readonly<Record<string, string>> = {
  'microsoft.relay': '2021-11-01',
  'microsoft.web': '2025-05-01',
  'microsoft.resources': '2022-09-01',
}

/** The version `@azure/arm-relay` sends itself (the emulator must accept it too). */
export const RELAY_SDK_API_VERSION = '2017-04-01'

/**
 * The provider namespace a path belongs to: the last `/providers/{Namespace}` segment pair, or
 * Microsoft.Resources for subscription and resource-group paths. Undefined for other paths.
 */
export function providerOf(path: string): string | undefined {
  const clean = path.split('?')[0]!.replace(/^https?:\/\/[^/]+/i, '')
  const segments = clean.split('/').filter(Boolean)
  let provider: string | undefined
  for (let i = 0; i < segments.length - 1; i++) {
    if (segments[i]!.toLowerCase() === 'providers') provider = segments[i + 1]
  }
  if (provider) return provider
  if (segments.length === 0 || segments[0]!.toLowerCase() === 'subscriptions' || segments[0]!.toLowerCase() === 'tenants') {
    return 'Microsoft.Resources'
  }
  return undefined
}

/** The api-version from the table for this path, if hcctl knows its provider. */
export function apiVersionFor(path: string): string | undefined {
  const provider = providerOf(path)
  return provider ? API_VERSIONS[provider.toLowerCase()] : undefined
}
