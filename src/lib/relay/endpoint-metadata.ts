import {UsageError} from '../errors.js'

/**
 * The endpoint of an App Service hybrid connection lives in its `userMetadata`:
 * `[{"key":"endpoint","value":"host:port"}]` (relay-protocol.md §7.2). The key matches
 * case-insensitively (as HCM does); the value must be exactly `host:port`.
 */
export interface Endpoint {
  host: string
  port: number
}

const HOST_PORT = /^([a-zA-Z0-9.-]+):(\d{1,5})$/

export class EndpointMetadataError extends UsageError {
  constructor(message: string) {
    super(message, {
      code: 'InvalidEndpointMetadata',
      suggestions: ['Set the endpoint with `hcctl endpoint set HC --namespace NS -g RG --endpoint HOST:PORT`, or in the portal (userMetadata `[{"key":"endpoint","value":"host:port"}]`).'],
    })
  }
}

/** Parses `host:port`; throws EndpointMetadataError naming what is wrong. */
export function parseHostPort(text: string): Endpoint {
  const m = HOST_PORT.exec(text.trim())
  if (!m) throw new EndpointMetadataError(`The endpoint "${text.slice(0, 80)}" is not host:port (letters, digits, dots and dashes, then a port).`)
  const port = Number(m[2])
  if (port < 1 || port > 65535) throw new EndpointMetadataError(`The endpoint port ${m[2]} is not between 1 and 65535.`)
  return {host: m[1]!, port}
}

/** Reads the endpoint from a userMetadata string; throws EndpointMetadataError when absent or malformed. */
export function parseEndpointMetadata(userMetadata: string | undefined | null): Endpoint {
  if (userMetadata === undefined || userMetadata === null || userMetadata.trim() === '') {
    throw new EndpointMetadataError('The hybrid connection has no endpoint metadata (userMetadata is empty).')
  }
  let items: unknown
  try {
    items = JSON.parse(userMetadata)
  } catch {
    throw new EndpointMetadataError('The hybrid connection\'s userMetadata is not JSON (expected [{"key":"endpoint","value":"host:port"}]).')
  }
  if (!Array.isArray(items)) throw new EndpointMetadataError('The hybrid connection\'s userMetadata is not a JSON array of {key, value} items.')
  const found = items.filter((i): i is {key: string; value: unknown} => !!i && typeof i === 'object' && typeof (i as {key?: unknown}).key === 'string' && (i as {key: string}).key.toLowerCase() === 'endpoint')
  if (found.length === 0) throw new EndpointMetadataError('The hybrid connection\'s userMetadata has no "endpoint" item.')
  if (found.length > 1) throw new EndpointMetadataError('The hybrid connection\'s userMetadata has more than one "endpoint" item.')
  const value = found[0]!.value
  if (typeof value !== 'string') throw new EndpointMetadataError('The "endpoint" item of userMetadata has no string value.')
  return parseHostPort(value)
}

export function formatEndpoint(e: Endpoint): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`
}
