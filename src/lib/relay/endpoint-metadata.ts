import {UsageError} from '../errors.js'
import {type Endpoint, endpointProblem, formatEndpoint, parseEndpointMetadata as readMetadata} from '../hybrid/endpoint.js'

/**
 * The data plane's view of a hybrid connection's endpoint metadata. There is one reader of
 * `userMetadata` in hcctl (lib/hybrid/endpoint.ts: what provisioning writes and `check`
 * diagnoses); the agent and forwarder use it through these throwing wrappers, so the agent
 * accepts exactly what `create`/`endpoint set` write.
 */
export type {Endpoint}
export {formatEndpoint}

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
  const problem = endpointProblem(text)
  if (problem) throw new EndpointMetadataError(`The endpoint "${String(text).slice(0, 80)}" is invalid: ${problem}.`)
  const parsed = readMetadata(JSON.stringify([{key: 'endpoint', value: text}]))
  if (!parsed.ok) throw new EndpointMetadataError(`The endpoint "${String(text).slice(0, 80)}" is invalid: ${parsed.reason}.`)
  return parsed.endpoint
}

/** Reads the endpoint from a userMetadata string; throws EndpointMetadataError when absent or malformed. */
export function parseEndpointMetadata(userMetadata: string | undefined | null): Endpoint {
  const parsed = readMetadata(userMetadata)
  if (!parsed.ok) throw new EndpointMetadataError(`The hybrid connection cannot be used: ${parsed.reason}.`)
  return parsed.endpoint
}
