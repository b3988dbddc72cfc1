import type {CloudProfile} from '../azure/clouds.js'
import {UsageError} from '../errors.js'
import {parseConnectionString, type RelayConnectionString} from './connection-string.js'
import {createSasToken, parseSasToken} from './sas.js'

/**
 * Who we are on one hybrid connection: the namespace host, the entity, and how to get a token
 * (sign with a rule key, or a fixed pre-made token). Built from a connection string or from
 * ARM, consumed by the listener, the sender and the management GET.
 */
export interface HybridConnectionCredentials {
  /** e.g. contoso.servicebus.windows.net */
  host: string
  /** Hybrid connection name (may contain '/') */
  entity: string
  /** Rule name, for messages (never the key). */
  keyName?: string
  /** Returns a token valid for at least `ttlSeconds` when it can sign; a fixed token otherwise. */
  token(ttlSeconds?: number): string
  /** When a fixed token expires (unix seconds); undefined when we sign our own. */
  fixedTokenExpiry?: number
}

export interface CredentialsFromKey {
  host: string
  entity: string
  keyName: string
  key: string
}

/** The audience every client token is made for: `http://{host}/{entity}`. */
export function tokenAudience(host: string, entity: string): string {
  return `http://${host}/${entity}`
}

export function credentialsFromKey(k: CredentialsFromKey, now: () => number = Date.now): HybridConnectionCredentials {
  return {
    host: k.host.toLowerCase(),
    entity: k.entity,
    keyName: k.keyName,
    token: (ttlSeconds = 3600) => createSasToken({resourceUri: tokenAudience(k.host.toLowerCase(), k.entity), keyName: k.keyName, key: k.key, ttlSeconds, now}),
  }
}

export function credentialsFromToken(host: string, entity: string, token: string): HybridConnectionCredentials {
  let fields
  try {
    fields = parseSasToken(token)
  } catch (error) {
    throw new UsageError(`The SAS token is malformed: ${(error as Error).message}`, {code: 'InvalidSasToken'})
  }
  return {host: host.toLowerCase(), entity, keyName: fields.skn, token: () => token, fixedTokenExpiry: fields.se}
}

/**
 * Credentials from a connection string (text or parsed). EntityPath is required unless
 * `entity` is given. The cloud, if given, must own the host's suffix (a connection string for
 * another cloud is a usage error rather than a mysterious TLS failure).
 */
export function credentialsFromConnectionString(input: string | RelayConnectionString, options: {entity?: string; cloud?: CloudProfile} = {}): HybridConnectionCredentials {
  const cs = typeof input === 'string' ? parseConnectionString(input) : input
  const entity = options.entity ?? cs.entityPath
  if (!entity) {
    throw new UsageError('The connection string is invalid: EntityPath (the hybrid connection name) is missing.', {
      code: 'InvalidConnectionString',
      suggestions: ['Append ;EntityPath=HYBRID_CONNECTION_NAME, or use the hybrid connection\'s own connection string (the portal\'s "gateway connection string").'],
    })
  }
  if (options.entity && cs.entityPath && options.entity.toLowerCase() !== cs.entityPath.toLowerCase()) {
    throw new UsageError(`The connection string is for hybrid connection "${cs.entityPath}", not "${options.entity}".`, {code: 'InvalidConnectionString'})
  }
  if (cs.sharedAccessKeyName && cs.sharedAccessKey) {
    return credentialsFromKey({host: cs.host, entity, keyName: cs.sharedAccessKeyName, key: cs.sharedAccessKey})
  }
  return credentialsFromToken(cs.host, entity, cs.sharedAccessSignature!)
}

/** The namespace name of a relay host under the cloud's suffix (else the first label). */
export function namespaceOf(host: string, cloud?: CloudProfile): string {
  const h = host.toLowerCase()
  if (cloud && h.endsWith(cloud.relaySuffix.toLowerCase())) return h.slice(0, h.length - cloud.relaySuffix.length)
  return h.split('.')[0]!
}
