import {UsageError} from '../errors.js'
import {redactText} from '../output/redact.js'
import {apiVersionFor, providerOf} from './api-versions.js'

/**
 * URL handling of the ARM client. The ARM token goes to the cloud's ARM endpoint and nowhere
 * else, so every URL the client sends to (given paths, nextLinks, polling URLs) is checked here.
 */
export interface ArmEndpoint {
  /** e.g. https://management.azure.com */
  armEndpoint: string
  /** Filled in for `{subscriptionId}` in a path (called only when the path has one). */
  subscriptionId: () => string
}

/**
 * The absolute URL for a path: relative paths are joined to the ARM endpoint, absolute ones
 * must be on it; `{subscriptionId}` is filled in; the api-version is the given one, else the
 * URL's, else the provider table's (unless `defaultApiVersion` is false).
 */
export function resolveArmUrl(endpoint: ArmEndpoint, path: string, apiVersion?: string, options: {defaultApiVersion?: boolean} = {}): string {
  let raw = path.trim()
  if (/\{subscriptionid\}/i.test(raw)) raw = raw.replace(/\{subscriptionid\}/gi, encodeURIComponent(endpoint.subscriptionId()))
  let url: URL
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    try {
      url = new URL(raw)
    } catch {
      throw new UsageError(`Invalid URL ${JSON.stringify(redactText(raw))}.`, {code: 'InvalidUrl'})
    }
    if (url.origin.toLowerCase() !== armOrigin(endpoint)) {
      throw new UsageError(`The URL ${redactText(url.origin)} is not this cloud's ARM endpoint (${endpoint.armEndpoint}); hcctl sends its ARM token only there.`, {
        code: 'NotArmEndpoint',
        suggestions: ['Use a path relative to the ARM endpoint (/subscriptions/...), or choose the matching cloud with --cloud.'],
      })
    }
  } else {
    if (!raw.startsWith('/')) raw = `/${raw}`
    try {
      url = new URL(endpoint.armEndpoint.replace(/\/+$/, '') + raw)
    } catch {
      throw new UsageError(`Invalid path ${JSON.stringify(redactText(raw))}.`, {code: 'InvalidUrl'})
    }
  }
  let text = url.toString()
  const has = /[?&]api-version=[^&]*/i.test(url.search)
  if (apiVersion) {
    text = has ? text.replace(/([?&]api-version=)[^&#]*/i, `$1${encodeURIComponent(apiVersion)}`) : appendQuery(text, `api-version=${encodeURIComponent(apiVersion)}`)
  } else if (!has && options.defaultApiVersion !== false) {
    const version = apiVersionFor(url.pathname)
    if (!version) {
      const provider = providerOf(url.pathname)
      throw new UsageError(`No api-version for ${provider ? `provider ${provider}` : `the path ${url.pathname}`}: hcctl only knows Microsoft.Web, Microsoft.Relay and Microsoft.Resources.`, {
        code: 'MissingApiVersion',
        suggestions: ['Add ?api-version=YYYY-MM-DD to the URL, or pass --api-version.'],
      })
    }
    text = appendQuery(text, `api-version=${version}`)
  }
  return text
}

/** The ARM endpoint's origin, lower-case (what every URL carrying the token must match). */
export function armOrigin(endpoint: Pick<ArmEndpoint, 'armEndpoint'>): string {
  return new URL(endpoint.armEndpoint).origin.toLowerCase()
}

export function appendQuery(url: string, pair: string): string {
  const hash = url.indexOf('#')
  const base = hash === -1 ? url : url.slice(0, hash)
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?'
  return base + sep + pair + (hash === -1 ? '' : url.slice(hash))
}

export function pathOnly(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return url.split('?')[0]!
  }
}

export function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}
