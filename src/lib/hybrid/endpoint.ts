import {isIP} from 'node:net'

import {UsageError} from '../errors.js'
import {type Endpoint, formatEndpoint, readHostPort} from '../relay/endpoint.js'

/**
 * What provisioning adds to the endpoint (lib/relay/endpoint.ts reads and writes it): the
 * user's `--endpoint`, and the advice about hosts App Service redirects badly.
 */

/** Why a host deserves a warning (or an error with `--strict`). */
export type HostConcern = 'ip-address' | 'localhost'

/** Parses `host:port` given by the user (a flag or a file); a usage error names what is wrong. */
export function parseEndpoint(text: string, source = '--endpoint'): Endpoint {
  const read = readHostPort(typeof text === 'string' ? text.trim() : text)
  if (read.ok) return read.endpoint
  throw new UsageError(`${source} "${String(text).slice(0, 100)}" is invalid: ${read.reason}.`, {
    code: 'InvalidEndpoint',
    suggestions: ['Give the endpoint as host:port with a DNS name the agent host resolves, e.g. --endpoint sql01.corp.local:1433.'],
  })
}

/** IP literals and localhost work badly with App Service (it redirects by DNS name). */
export function hostConcern(host: string): HostConcern | undefined {
  if (isIP(host)) return /^127\.|^::1$|^0:0:0:0:0:0:0:1$/.test(host) ? 'localhost' : 'ip-address'
  const h = host.toLowerCase().replace(/\.$/, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return 'localhost'
  return undefined
}

export function hostConcernMessage(endpoint: Endpoint, concern: HostConcern): string {
  const shown = formatEndpoint(endpoint)
  return concern === 'ip-address'
    ? `The endpoint ${shown} uses an IP address. App Service redirects to a hybrid connection only when the app looks up the endpoint's DNS name, so an app that connects to an IP may bypass it; use a DNS name the agent host resolves.`
    : `The endpoint ${shown} is localhost. App Service redirects by DNS name and "localhost" on the app resolves to the app itself (Linux apps never redirect it); use the agent machine's name instead.`
}
