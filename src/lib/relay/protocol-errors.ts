import {ExitCode, HcctlError} from '../errors.js'

/** Malformed relay input: the stable codes of RelayProtocolError (relay-protocol.md §1-§3). */
export type ProtocolErrorCode =
  | 'InvalidJson'
  | 'NotACommand'
  | 'AmbiguousCommand'
  | 'InvalidField'
  | 'MissingField'
  | 'MessageTooLarge'
  | 'InvalidUrl'

/** Malformed input from the other end of the relay. `code` is stable; messages never echo secrets. */
export class RelayProtocolError extends HcctlError {
  override name = 'RelayProtocolError'
  readonly protocolCode: ProtocolErrorCode
  constructor(protocolCode: ProtocolErrorCode, message: string) {
    super(message, ExitCode.Unexpected, {
      code: `RelayProtocol${protocolCode}`,
      suggestions: ['The other end of the relay sent something hcctl does not understand; run with --debug and report it if it persists.'],
    })
    this.protocolCode = protocolCode
  }
}

/** A name quoted for an error message, cut at 40 characters (input is never echoed whole). */
export function describeName(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)
}
