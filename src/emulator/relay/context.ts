import {randomBytes} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'

import type {WebSocket, WebSocketServer} from 'ws'

import type {RelayBrokerOptions, RelayEntity, RelayFaults} from '../contracts.js'
import type {RequestCommand, ResponseCommand} from '../../lib/relay/protocol.js'

/**
 * What the broker's modules share (broker.ts wires them): its options, the fault settings, the
 * shutdown flag, the `ws` server for control channels and HTTP rendezvous, and the table of
 * rendezvous addresses handed out and not yet dialled (WebSocket accepts and HTTP requests).
 */
export interface BrokerContext {
  readonly options: RelayBrokerOptions
  readonly now: () => number
  readonly log: (line: string) => void
  /** The relay suffix, lower-case (e.g. ".servicebus.localhost"). */
  readonly suffix: string
  readonly graceSeconds: number
  faults: RelayFaults
  closing: boolean
  readonly wss: WebSocketServer
  readonly rendezvous: Map<string, Pending>
}

/** Tokens are treated as expiring this much earlier (a fault). */
export function earlySeconds(ctx: BrokerContext): number {
  return ctx.faults.expireTokensEarlySeconds ?? 0
}

/** An unguessable rendezvous id suffix. */
export function newId(): string {
  return randomBytes(16).toString('hex')
}

/** The key of a hybrid connection in the listener table. */
export function keyOf(namespace: string, name: string): string {
  return `${namespace.toLowerCase()}/${name.toLowerCase()}`
}

/** Where a request is addressed (routing.ts). */
export interface Located {
  entity?: RelayEntity
  suffix: string
  /** The Host the request was addressed to: lower-case, no port. */
  requestHost: string
  /** `{ns}{suffix}` when known, else the request host. */
  namespaceHost: string
}

export type LocatedEntity = Located & {entity: RelayEntity}

/** A listener's control channel (listeners.ts). */
export interface ListenerConn {
  id: string
  key: string
  namespace: string
  name: string
  /** HC path used at `listen` (for re-checking renewed tokens). */
  path: string
  requestHost: string
  namespaceHost: string
  ws: WebSocket
  expiresAtSe: number
  expiryTimer?: NodeJS.Timeout
  /** HTTP requests sent on this control channel and not yet answered. */
  requests: Set<PendingHttp>
  /** A `response` with `body:true` arrived; the next binary message is its body. */
  awaiting?: {pending: PendingHttp; response: ResponseCommand}
}

/** A WebSocket sender held until its listener dials the accept address (rendezvous.ts). */
export interface PendingAccept {
  kind: 'accept'
  id: string
  key: string
  senderReq: IncomingMessage
  senderSocket: Duplex
  senderHead: Buffer
  trackingId: string
  namespaceHost: string
  entityName: string
  timer: NodeJS.Timeout
}

/** An HTTP-mode sender waiting for its listener's response (http-sender.ts). */
export interface PendingHttp {
  kind: 'request'
  id: string
  command: RequestCommand
  body: Buffer
  onControl: boolean
  listener: ListenerConn
  res: ServerResponse
  namespaceHost: string
  trackingId: string
  entityName: string
  rendezvous?: WebSocket
  rendezvousUsed: boolean
  awaiting?: ResponseCommand
  timer?: NodeJS.Timeout
  done: boolean
}

export type Pending = PendingAccept | PendingHttp
