import {ExitCode, HcctlError} from '../errors.js'

/**
 * Every way a relay connection can fail, as one error type with a stable `code` (and the HTTP
 * status and reason phrase the relay or the listener gave, which carry no secrets). Check by
 * `code`:
 *
 * | code                      | exit | meaning |
 * |---------------------------|------|---------|
 * | HybridConnectionNotFound  | 4    | 404 "Endpoint does not exist" |
 * | NoListener                | 3    | 404 "There are no listeners connected" (the agent is not running) |
 * | RelayUnauthorized         | 5    | 401/403: bad, expired or wrong-rights token (names the right needed) |
 * | RejectedByListener        | 3    | the listener (agent) refused, with its status and reason |
 * | RelayTimeout              | 3    | no answer in time |
 * | RelayUnreachable          | 3    | DNS, TCP or TLS failure before any HTTP answer |
 * | RelayError                | 1    | any other answer (e.g. 500 from the service) |
 */
export type RelayErrorCode =
  | 'HybridConnectionNotFound'
  | 'NoListener'
  | 'RelayUnauthorized'
  | 'RejectedByListener'
  | 'RelayTimeout'
  | 'RelayUnreachable'
  | 'RelayError'

const EXIT: Record<RelayErrorCode, ExitCode> = {
  HybridConnectionNotFound: ExitCode.NotFound,
  NoListener: ExitCode.CheckFailed,
  RelayUnauthorized: ExitCode.Auth,
  RejectedByListener: ExitCode.CheckFailed,
  RelayTimeout: ExitCode.CheckFailed,
  RelayUnreachable: ExitCode.CheckFailed,
  RelayError: ExitCode.Unexpected,
}

export class RelayError extends HcctlError {
  override name = 'RelayError'
  declare readonly code: RelayErrorCode
  /** HTTP status of the failed upgrade, if there was one. */
  readonly status?: number
  /** The reason phrase of that answer (for a listener's rejection: its description). */
  readonly reason?: string

  constructor(code: RelayErrorCode, message: string, options: {status?: number; reason?: string; suggestions?: string[]; cause?: unknown} = {}) {
    super(message, EXIT[code], {
      code,
      suggestions: options.suggestions,
      cause: options.cause,
      data: {
        ...(options.status === undefined ? {} : {status: options.status}),
        ...(options.reason === undefined ? {} : {reason: options.reason}),
      },
    })
    this.status = options.status
    this.reason = options.reason
  }
}

export function isRelayError(error: unknown, code?: RelayErrorCode): error is RelayError {
  const e = error as RelayError | undefined
  return !!e && e.name === 'RelayError' && typeof e.code === 'string' && (code === undefined || e.code === code)
}

/**
 * Maps a failed WebSocket upgrade (status and reason phrase) to a RelayError.
 * `role` decides which right a 401/403 asks for.
 */
export function errorForUpgrade(status: number, reason: string, ctx: {role: 'sender' | 'listener'; entity: string; host: string}): RelayError {
  const where = `hybrid connection "${ctx.entity}" on ${ctx.host}`
  const right = ctx.role === 'sender' ? 'Send' : 'Listen'
  const detail = reason ? `: ${reason}` : ''
  if (status === 404 && /no listeners/i.test(reason)) {
    return new RelayError('NoListener', `No listener is connected to ${where}${detail}.`, {
      status,
      reason,
      suggestions: ['Start the agent for this hybrid connection (`hcctl agent --connection-string ...`) and check that it logs "listening".'],
    })
  }
  if (status === 404) {
    return new RelayError('HybridConnectionNotFound', `The ${where} does not exist${detail}.`, {
      status,
      reason,
      suggestions: ['Check the namespace and EntityPath (hybrid connection name) in the connection string.'],
    })
  }
  if (status === 401 || status === 403) {
    const cause = authCause(status, reason, right)
    return new RelayError('RelayUnauthorized', `The relay refused the token for ${where}: ${cause.what} (HTTP ${status}${detail}).`, {
      status,
      reason,
      suggestions: [
        cause.todo ?? `Use a connection string whose SharedAccessKeyName has the ${right} right (for App Service: ${ctx.role === 'sender' ? 'defaultSender' : 'defaultListener'}) and a current key.`,
        ...(cause.clock ? ['Check that this machine\'s clock is right: SAS tokens carry an expiry time.'] : []),
      ],
    })
  }
  if (status === 408 || status === 504) {
    return new RelayError('RelayTimeout', `The relay timed out connecting to ${where} (HTTP ${status}${detail}).`, {status, reason})
  }
  if (ctx.role === 'sender' && status !== 500 && status !== 503) {
    return new RelayError('RejectedByListener', `The listener rejected the connection to ${where}: ${status}${reason ? ` ${reason}` : ''}.`, {
      status,
      reason,
      suggestions: ['The reason comes from the agent; check the agent\'s log and that its endpoint is reachable from the agent host.'],
    })
  }
  return new RelayError('RelayError', `The relay answered HTTP ${status} for ${where}${detail}.`, {status, reason})
}

/**
 * What a 401/403 from the relay means, from its reason phrase (relay-protocol.md §3.2, §4.4):
 * the wrong key, an expired token, a token for another entity, an unknown rule, a missing right.
 */
function authCause(status: number, reason: string, right: string): {what: string; todo?: string; clock?: boolean} {
  const current = 'Get a current connection string (`hcctl connection-string HC --namespace NS -g RG --rule RULE`): the key may have been rotated.'
  if (/invalid signature/i.test(reason)) return {what: 'the key does not match the rule (wrong or rotated key)', todo: current}
  if (/expired/i.test(reason)) return {what: 'the token has expired', todo: 'Sign a new token (or use a connection string with SharedAccessKey, from which hcctl signs fresh ones).', clock: true}
  if (/audience/i.test(reason)) return {what: 'the token was signed for another hybrid connection or namespace', todo: 'Use a token or connection string for this hybrid connection (its EntityPath and the token\'s resource must name the same one).'}
  if (/shared access key the entity does not have/i.test(reason)) return {what: 'the rule named in SharedAccessKeyName does not exist on this hybrid connection or its namespace', todo: current}
  if (status === 403 || /claim/i.test(reason)) return {what: `the rule lacks the ${right} right`}
  return {what: 'the token is missing or malformed', clock: true}
}

/** A network-level failure (no HTTP answer). */
export function errorForNetwork(error: NodeJS.ErrnoException, host: string): RelayError {
  const what = error.code ? `${error.code} ${error.message}`.replace(`${error.code} ${error.code}`, error.code) : error.message
  if (error.name === 'ProxyTunnelError') {
    const status = (error as {status?: number}).status
    return new RelayError('RelayUnreachable', `Cannot reach the relay at ${host} through the proxy: ${error.message}.`, {
      cause: error,
      suggestions: [
        status === 407
          ? 'The proxy wants credentials: put them in HTTPS_PROXY (http://user:password@proxy:port), or exempt the namespace with NO_PROXY where a direct path exists.'
          : status === 0
            ? 'Check the proxy address in HTTPS_PROXY (or ALL_PROXY) and that this machine reaches it.'
            : 'Allow CONNECT to the namespace (and its gateways) on 443 at the proxy, or exempt them with NO_PROXY where a direct path exists. `hcctl check` tests the proxy path.',
      ],
    })
  }
  return new RelayError('RelayUnreachable', `Cannot reach the relay at ${host}: ${what}.`, {
    cause: error,
    suggestions: ['Check DNS and outbound TCP 443 to the namespace (and its gateways) from this machine, and any proxy or firewall.'],
  })
}
