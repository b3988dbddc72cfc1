/**
 * The wire vocabulary of Azure Relay Hybrid Connections (relay-protocol.md §1-§3), shared by
 * our clients (listener, sender, agent, forward) and by the emulator's broker, so both ends
 * agree by construction. One module per responsibility, re-exported here:
 *
 * - protocol-constants.ts: limits, timeouts, parameter and header names, close codes;
 * - protocol-commands.ts: control-channel commands (`accept`, `request`, `renewToken`,
 *   `response`), strict parsers for incoming JSON and formatters for outgoing JSON;
 * - protocol-urls.ts: URL builders for every relay address, and a parser for them;
 * - protocol-reasons.ts: the service's reason-phrase format and messages;
 * - protocol-errors.ts: RelayProtocolError, whose `code` is stable (see ProtocolErrorCode).
 *
 * Everything here is pure (no sockets, no clocks unless given). Parsers never throw anything
 * but RelayProtocolError.
 */

export * from './protocol-constants.js'
export * from './protocol-commands.js'
export * from './protocol-urls.js'
export * from './protocol-reasons.js'
export {type ProtocolErrorCode, RelayProtocolError} from './protocol-errors.js'
