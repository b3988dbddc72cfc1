import {createHash} from 'node:crypto'

import {truncateCloseReason} from './protocol.js'

/**
 * WebSocket framing (RFC 6455 §5) for the relay's data paths, where messages are a byte stream
 * and need not be assembled: the emulator's broker splices frames between two legs, and our
 * tunnels stream frame payloads straight to TCP. Pure functions, no sockets.
 *
 * Frames we send as a client carry the mask bit with an all-zero key: masking protects
 * browser-era HTTP caches from script-chosen bytes and adds nothing over TLS between
 * non-browser peers (see transport.ts), and a zero key lets both ends skip the XOR.
 */

export const Opcode = {continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10} as const

export interface FrameHeader {
  fin: boolean
  opcode: number
  length: number
  /** The mask key, or undefined when there is none or it is all zeros (nothing to unmask). */
  mask: Buffer | undefined
  /** Bytes the header took. */
  size: number
}

export type HeaderResult = FrameHeader | 'incomplete' | {error: string}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** The `Sec-WebSocket-Accept` value for a handshake key (RFC 6455 §4.2.2). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64')
}

/**
 * Parses a frame header at the start of `b`. `fromClient`: frames a client sent must be
 * masked, frames a server sent must not be. No extension is ever negotiated, so RSV bits
 * are refused.
 */
export function parseFrameHeader(b: Buffer, fromClient: boolean): HeaderResult {
  if (b.length < 2) return 'incomplete'
  const first = b[0]!
  const second = b[1]!
  const fin = (first & 0x80) !== 0
  const opcode = first & 0x0f
  if ((first & 0x70) !== 0) return {error: 'RSV bits set without a negotiated extension'}
  if (!(opcode <= Opcode.binary || (opcode >= Opcode.close && opcode <= Opcode.pong))) return {error: `unknown opcode ${opcode}`}
  const masked = (second & 0x80) !== 0
  if (fromClient && !masked) return {error: 'a client frame must be masked'}
  if (!fromClient && masked) return {error: 'a server frame must not be masked'}
  let length = second & 0x7f
  let size = 2
  if (length === 126) {
    if (b.length < 4) return 'incomplete'
    length = b.readUInt16BE(2)
    size = 4
  } else if (length === 127) {
    if (b.length < 10) return 'incomplete'
    const high = b.readUInt32BE(2)
    if (high > 0x1fffff) return {error: 'frame length beyond 2^53 - 1'}
    length = high * 2 ** 32 + b.readUInt32BE(6)
    size = 10
  }
  if (opcode >= Opcode.close && (!fin || length > 125)) return {error: 'control frames must be final and at most 125 bytes'}
  if (!masked) return {fin, opcode, length, mask: undefined, size}
  if (b.length < size + 4) return 'incomplete'
  const key = b.subarray(size, size + 4)
  const mask = key.readUInt32BE(0) === 0 ? undefined : Buffer.from(key)
  return {fin, opcode, length, mask, size: size + 4}
}

/** A frame header; `masked` sets the mask bit with an all-zero key (a client frame). */
export function frameHeader(opcode: number, length: number, {fin = true, masked = false}: {fin?: boolean; masked?: boolean} = {}): Buffer {
  const first = (fin ? 0x80 : 0) | opcode
  const maskBit = masked ? 0x80 : 0
  const keyBytes = masked ? 4 : 0
  let h: Buffer
  if (length < 126) {
    h = Buffer.alloc(2 + keyBytes)
    h[1] = maskBit | length
  } else if (length < 65536) {
    h = Buffer.alloc(4 + keyBytes)
    h[1] = maskBit | 126
    h.writeUInt16BE(length, 2)
  } else {
    h = Buffer.alloc(10 + keyBytes)
    h[1] = maskBit | 127
    h.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    h.writeUInt32BE(length >>> 0, 6)
  }
  h[0] = first
  return h
}

/** A whole frame (FIN set) with its payload; `masked` as in frameHeader. */
export function frame(opcode: number, payload: Buffer, masked = false): Buffer {
  const header = frameHeader(opcode, payload.length, {masked})
  return payload.length === 0 ? header : Buffer.concat([header, payload])
}

/** A Close frame with a code and a reason; code 1005 (none) sends an empty Close. */
export function closeFrame(code: number, reason: string, masked = false): Buffer {
  if (code === 1005) return frame(Opcode.close, Buffer.alloc(0), masked)
  const text = Buffer.from(truncateCloseReason(reason), 'utf8')
  const payload = Buffer.allocUnsafe(2 + text.length)
  payload.writeUInt16BE(code, 0)
  text.copy(payload, 2)
  return frame(Opcode.close, payload, masked)
}

/** The code and reason of a Close payload (1005 when it has none), or an error. */
export function parseClosePayload(payload: Buffer): {code: number; reason: string} | {error: string} {
  if (payload.length === 0) return {code: 1005, reason: ''}
  if (payload.length === 1) return {error: 'a Close payload of one byte'}
  return {code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8')}
}

/** XORs `data` in place with the mask key, starting at `offset` into the key. */
export function unmask(data: Buffer, key: Buffer, offset: number): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= key[(offset + i) & 3]!
}
