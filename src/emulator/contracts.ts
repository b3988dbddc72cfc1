import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'

/**
 * The seams inside the emulator. The ARM side owns the state (namespaces, hybrid connections,
 * rules, sites); the relay broker owns live connections. They meet only here:
 *
 *   ARM state ──RelayDirectory──► broker      (who exists, which keys are valid)
 *   broker ──RelayRuntime──► ARM state        (live listener counts, drop on delete)
 *
 * The main server (`startEmulator` in src/emulator/index.ts) routes by Host header and path:
 * `/$hc/...` upgrades and plain requests to a relay host go to the broker; everything else to
 * ARM, the token service and the admin endpoint.
 */

export type RelayRight = 'Listen' | 'Send' | 'Manage'

export interface SasRule {
  name: string
  rights: RelayRight[]
  primaryKey: string
  secondaryKey: string
}

/** One hybrid connection as the data plane sees it. */
export interface RelayEntity {
  /** Namespace name as created (e.g. "contoso"); the host is `${namespace}${relaySuffix}` */
  namespace: string
  /** Hybrid connection name as created (may contain '/' for non-App-Service use) */
  name: string
  requiresClientAuthorization: boolean
  /** The raw userMetadata string, if set */
  userMetadata?: string
  createdAt: string
  updatedAt: string
  /** Rules on the hybrid connection itself */
  rules: SasRule[]
  /** Rules on the namespace (RootManageSharedAccessKey and others) */
  namespaceRules: SasRule[]
}

export interface RelayDirectory {
  /** Namespace names that exist (for resolving a bare-IP Host by HC name). */
  namespaces(): string[]
  /**
   * Resolves the entity addressed by `path` (everything after `/$hc/` or after `/` in HTTP
   * mode, URL-decoded, without query) in `namespace`: the longest registered hybrid connection
   * name matching whole segments, case-insensitively. `suffix` is the rest of the path.
   * `namespace` undefined means "any namespace, if unambiguous".
   */
  resolve(namespace: string | undefined, path: string): {entity: RelayEntity; suffix: string} | undefined
}

export interface RelayRuntime {
  /** Live listeners on a hybrid connection (ARM reports it as listenerCount). */
  listenerCount(namespace: string, name: string): number
  /** The hybrid connection was deleted: close its control channels with 1001. */
  entityDeleted(namespace: string, name: string): void
  /** A rule's keys changed or it was deleted: nothing is dropped (tokens stay valid until expiry, as in Azure). */
}

/** Faults the relay broker understands (set through --faults or the admin endpoint). */
export interface RelayFaults {
  /** Refuse every rendezvous (accept address) with this HTTP status. */
  refuseRendezvous?: number
  /** Never answer the sender until its timeout (the listener never gets the accept). */
  stallRendezvous?: boolean
  /** Treat tokens as expiring this many seconds earlier than their `se`. */
  expireTokensEarlySeconds?: number
}

/** Options the main server gives the relay broker (src/emulator/relay/broker.ts). */
export interface RelayBrokerOptions {
  directory: RelayDirectory
  /** e.g. ".servicebus.localhost": a Host `{ns}{relaySuffix}[:port]` addresses namespace `ns` */
  relaySuffix: string
  /**
   * Base URL for rendezvous addresses handed to listeners in `accept`/`request`, e.g.
   * `wss://127.0.0.1:PORT` (a bare IP, so listeners that do not know the address override
   * can still dial it; the broker finds the rendezvous by its id).
   */
  rendezvousBase: () => string
  /** Seconds of grace after a token's `se` before it is refused (default 300). */
  tokenGraceSeconds?: number
  /** Clock, for tests. */
  now?: () => number
  /** How long a sender waits for a listener to dial the rendezvous, ms (default 30 000; tests shorten it). */
  rendezvousTimeoutMs?: number
  /** How long an HTTP-mode sender waits for the listener's response, ms (default 60 000; tests shorten it). */
  httpResponseTimeoutMs?: number
  /**
   * A relayed WebSocket pair in which one leg has sent its Close (a half-close, relay-protocol.md
   * §3.3) and nothing moves for this long is ended, both legs (default 30 000 ms).
   */
  closeTimeoutMs?: number
  /** Diagnostic lines (already free of secrets). */
  log?: (line: string) => void
}

/** Counts of the listeners' token events since the broker started. */
export interface RelayTokenCounters {
  /** `renewToken` commands accepted (the channel's expiry moved). */
  renewals: number
  /** `renewToken` commands refused: the channel was closed with 1008. */
  renewalsRefused: number
  /** Control channels closed with 1008 because their token expired unrenewed. */
  expiredClosed: number
}

/** What the broker offers the main server. */
export interface RelayBroker extends RelayRuntime {
  /** True when a request belongs to the relay: a `/$hc/` path, or a Host under the relay suffix. */
  isRelayRequest(req: IncomingMessage): boolean
  /** WebSocket upgrades for `/$hc/...` (listen, connect, accept, request). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Plain HTTPS: HTTP-mode senders and the runtime management GET. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void
  setFaults(faults: RelayFaults): void
  /** What the control channels did with tokens so far (tests print it). */
  tokenCounters(): RelayTokenCounters
  /** Drop every listener control channel now (fault injection: the agent must reconnect). */
  dropListeners(namespace?: string, name?: string): number
  /** Close every socket. */
  close(): Promise<void>
}

export type CreateRelayBroker = (options: RelayBrokerOptions) => RelayBroker
