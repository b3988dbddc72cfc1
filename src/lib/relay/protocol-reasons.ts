/**
 * The service's reason phrases (relay-protocol.md §2.1, §3.2): its messages, the
 * `TrackingId/SystemTracker/Timestamp` format, and a parser for diagnostics.
 */

/** Messages the service puts in reason phrases and close reasons (§2.1, §3.2). */
export const RelayMessage = {
  EndpointNotFound: 'Endpoint does not exist',
  NoListeners: 'There are no listeners connected for the endpoint',
  NoListenerMeetsCriteria: 'None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria',
  AcceptTimeout: 'None of the connected listeners accepted the connection within the allowed timeout',
  InvalidSignature: 'The token has an invalid signature',
  TokenMissing: 'TokenMissingOrInvalid: The request does not carry a token, or the token is malformed',
  ExpiredToken: 'ExpiredToken: The token is expired',
  InvalidAudience: 'InvalidAudience: The authorization header contains a token with a wrong audience',
  UnknownRule: 'The token was signed with a shared access key the entity does not have',
  ListenerQuota: 'The number of listeners on the hybrid connection has reached the limit of 25',
  RendezvousInvalid: 'The rendezvous address is not valid, was already used or has expired',
  ListenerClosed: 'The listener closed the connection',
  EntityDeleted: 'The hybrid connection was deleted or disabled',
  TokenRenewalFailed: 'The renewed token is not valid',
} as const

export function claimRequiredMessage(right: 'Listen' | 'Send' | 'Manage'): string {
  return `Unauthorized access. '${right}' claim(s) are required to perform this operation`
}

export interface ReasonContext {
  trackingId: string
  /** Namespace host, e.g. contoso.servicebus.windows.net */
  host: string
  /** Entity path (HC name), e.g. hyco */
  entityPath?: string
  /** Clock (ms), for tests. */
  now?: number
}

/** `2025-04-24T11:08:15` (UTC, no milliseconds): the timestamp format of the service. */
export function reasonTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19)
}

/**
 * `<message>. TrackingId:<id>, SystemTracker:sb://<host>/<path>, Timestamp:<time>` with every
 * character that cannot appear in an HTTP reason phrase replaced by a space.
 */
export function formatReason(message: string, context: ReasonContext): string {
  const tracker = `sb://${context.host}/${context.entityPath ?? ''}`
  const text = `${message.replace(/\.+$/, '')}. TrackingId:${context.trackingId}, SystemTracker:${tracker}, Timestamp:${reasonTimestamp(context.now ?? Date.now())}`
  return sanitizeReasonPhrase(text)
}

/** Makes a string safe for an HTTP/1.1 status line (RFC 7230 reason-phrase: HTAB, SP, VCHAR, obs-text). */
export function sanitizeReasonPhrase(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ').replace(/[^\x09\x20-\x7e]/g, '?').slice(0, 1024)
}

export interface ParsedReason {
  message: string
  trackingId?: string
  systemTracker?: string
  timestamp?: string
}

/** Splits a service reason phrase into its message and tracking parts (for diagnostics). */
export function parseReason(text: string): ParsedReason {
  const m = /^(.*?)\.?\s*TrackingId:\s*([^,]*),\s*SystemTracker:\s*([^,]*),\s*Timestamp:\s*(.*)$/s.exec(text)
  if (!m) return {message: text.trim()}
  return {message: m[1]!.trim(), trackingId: m[2]!.trim(), systemTracker: m[3]!.trim(), timestamp: m[4]!.trim()}
}
