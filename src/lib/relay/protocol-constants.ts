/**
 * Constants of Azure Relay Hybrid Connections (relay-protocol.md §1-§3, §5): limits and
 * timeouts, query parameter and header names, close codes and how the broker forwards them.
 */

export const HC_PATH_SEGMENT = '$hc'
export const MANAGEMENT_API_VERSION = '2016-07'
/** Max concurrent listeners per hybrid connection (relay-protocol.md §5). */
export const MAX_LISTENERS_PER_HC = 25
/** Request/response bodies on the control channel: at most 64 KB each (§2.6). */
export const CONTROL_BODY_LIMIT = 64 * 1024
/** Header metadata on the control channel: at most 32 KB in total (§2.6). */
export const CONTROL_HEADERS_LIMIT = 32 * 1024
/** How long an accept/request rendezvous address stays valid (§2.4). */
export const RENDEZVOUS_TIMEOUT_MS = 30_000
/** HTTP-mode response deadline (§2.7). */
export const HTTP_RESPONSE_TIMEOUT_MS = 60_000

export type HcAction = 'listen' | 'connect' | 'accept' | 'request'
export const HC_ACTIONS: readonly HcAction[] = ['listen', 'connect', 'accept', 'request']

/** Query parameters of the protocol (§1.3). */
export const HcParam = {
  action: 'sb-hc-action',
  id: 'sb-hc-id',
  token: 'sb-hc-token',
  statusCode: 'sb-hc-statusCode',
  statusDescription: 'sb-hc-statusDescription',
} as const

/** The header that carries a SAS token on WebSocket handshakes (§1.4). */
export const SERVICE_BUS_AUTHORIZATION = 'ServiceBusAuthorization'

/** Close codes used by the service (§2.10) and RFC 6455 pseudo-codes. */
export const RelayCloseCode = {
  /** sender side: the listener closed normally */
  Normal: 1000,
  /** HC deleted/disabled, or the peer went away */
  GoingAway: 1001,
  /** token expired or renewToken failed */
  PolicyViolation: 1008,
  /** service error */
  InternalError: 1011,
  /** pseudo-code: a Close frame without a code (never sent on the wire) */
  NoStatus: 1005,
  /** pseudo-code: the connection dropped without a Close frame (never sent on the wire) */
  Abnormal: 1006,
} as const

/**
 * The close code to send to one peer when the other closed with `code` (§2.10): valid codes
 * pass verbatim, 1005 (no code) becomes 1000, 1006 (dropped) and anything unsendable 1001.
 */
export function forwardedCloseCode(code: number): number {
  if (code === RelayCloseCode.NoStatus) return RelayCloseCode.Normal
  if (isSendableCloseCode(code)) return code
  return RelayCloseCode.GoingAway
}

/** Close codes an endpoint may put in a Close frame (RFC 6455 §7.4, as `ws` enforces them). */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false
  if (code >= 3000 && code <= 4999) return true
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006
}

/** A close reason must fit the 123-byte limit of a Close frame; cut on a character boundary. */
export function truncateCloseReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out, 'utf8') > 123) out = out.slice(0, -1)
  return out
}
