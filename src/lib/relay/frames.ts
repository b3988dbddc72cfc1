import {createHash} from 'node:crypto'

import {truncateCloseReason} from './protocol-constants.js'

/**
 * WebSocket framing (RFC 6455 §5) for the relay's data paths, where messages are a byte stream
 * and need not be assembled: the emulator's broker splices frames between two legs, and our
 * tunnels stream frame payloads straight to TCP. Frame builders and an incremental reader
 * (FrameReader, a small state machine); no sockets.
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

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** The `Sec-WebSocket-Accept` value for a handshake key (RFC 6455 §4.2.2). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64')
}

/**
 * Why a peer's bytes are not a valid WebSocket stream (RFC 6455 §5). The codes are stable (tests
 * and logs match them); the messages say what was wrong in words.
 */
export type FrameErrorCode =
  | 'RSV_BITS'
  | 'UNKNOWN_OPCODE'
  | 'MASK_REQUIRED'
  | 'MASK_FORBIDDEN'
  | 'LENGTH_OVERFLOW'
  | 'BAD_CONTROL_FRAME'
  | 'UNEXPECTED_CONTINUATION'
  | 'EXPECTED_CONTINUATION'
  | 'BAD_CLOSE_PAYLOAD'

export interface FrameError {
  code: FrameErrorCode
  message: string
}

/** What a FrameReader reports; every callback is optional except the payload and control ones. */
export interface FrameHandler {
  /** A data frame (text, binary or continuation) begins; its payload follows in onPayload calls. */
  onFrameStart?(header: FrameHeader): void
  /** The next piece of the current data frame's payload, already unmasked (may be empty for none). */
  onPayload(piece: Buffer): void
  /** The current data frame's payload is complete. */
  onFrameEnd?(): void
  /** A whole control frame (close, ping, pong), unmasked. */
  onControl(opcode: number, payload: Buffer): void
  /** The stream broke the protocol; the reader is `failed` and ignores what follows. */
  onError(error: FrameError): void
}

/**
 * The states of a FrameReader, as `ws`'s receiver names them: the two fixed header bytes, the
 * extended lengths, the mask key, a data frame's payload (streamed), a control frame's payload
 * (collected: at most 125 bytes), and the two final states.
 */
export type FrameReaderState = 'info' | 'length16' | 'length64' | 'mask' | 'payload' | 'control' | 'stopped' | 'failed'

const MAX_HEADER = 14

/**
 * An incremental WebSocket frame parser: bytes go in as they arrive, split anywhere (one at a
 * time works), and come out as frame starts, payload pieces and control frames. Data payloads
 * are never assembled: each piece is a view of the input (unmasked in place when the key is not
 * zero), so a tunnel can write it on at once. `fromClient`: frames a client sent must be masked,
 * frames a server sent must not be. No extension is ever negotiated, so RSV bits are refused.
 */
export class FrameReader {
  private stateValue: FrameReaderState = 'info'
  /** Header bytes collected so far when a header arrives split. */
  private readonly scratch = Buffer.allocUnsafe(MAX_HEADER)
  private scratchLength = 0
  private fin = false
  private opcode = 0
  private masked = false
  private length = 0
  private headerSize = 0
  private mask: Buffer | undefined
  private maskOffset = 0
  private left = 0
  private control: Buffer[] = []
  /** A fragmented message is open: the next data frame must be a continuation. */
  private fragmented = false

  constructor(
    private readonly fromClient: boolean,
    private readonly handler: FrameHandler,
  ) {}

  get state(): FrameReaderState {
    return this.stateValue
  }

  /** Ignore whatever arrives from now on (after a Close: nothing may follow it). */
  stop(): void {
    if (this.stateValue !== 'failed') this.stateValue = 'stopped'
  }

  /** Feeds the next bytes of the stream. */
  push(chunk: Buffer): void {
    let off = 0
    while (off < chunk.length || this.stateValue === 'payload' && this.left === 0) {
      switch (this.stateValue) {
        case 'info':
        case 'length16':
        case 'length64':
        case 'mask': {
          const need = this.needed()
          const have = this.scratchLength
          const take = Math.min(need - have, chunk.length - off)
          chunk.copy(this.scratch, have, off, off + take)
          this.scratchLength += take
          off += take
          if (this.scratchLength === need) this.headerStep()
          break
        }
        case 'payload': {
          if (this.left === 0) {
            this.endData()
            break
          }
          const n = Math.min(this.left, chunk.length - off)
          const piece = n === chunk.length ? chunk : chunk.subarray(off, off + n)
          off += n
          this.left -= n
          if (this.mask) {
            unmask(piece, this.mask, this.maskOffset)
            this.maskOffset = (this.maskOffset + n) & 3
          }
          this.handler.onPayload(piece)
          if (this.left === 0 && this.stateValue === 'payload') this.endData()
          break
        }
        case 'control': {
          const n = Math.min(this.left, chunk.length - off)
          this.control.push(chunk.subarray(off, off + n))
          off += n
          this.left -= n
          if (this.left === 0) this.endControl()
          break
        }
        default:
          return // stopped or failed
      }
    }
  }

  /** Header bytes the current state needs in total (scratch holds the ones already read). */
  private needed(): number {
    switch (this.stateValue) {
      case 'info':
        return 2
      case 'length16':
        return 4
      case 'length64':
        return 10
      default:
        return this.headerSize + 4
    }
  }

  private headerStep(): void {
    const b = this.scratch
    switch (this.stateValue) {
      case 'info': {
        const first = b[0]!
        const second = b[1]!
        this.fin = (first & 0x80) !== 0
        this.opcode = first & 0x0f
        this.masked = (second & 0x80) !== 0
        if ((first & 0x70) !== 0) return this.fail('RSV_BITS', 'RSV bits set without a negotiated extension')
        if (!(this.opcode <= Opcode.binary || (this.opcode >= Opcode.close && this.opcode <= Opcode.pong))) return this.fail('UNKNOWN_OPCODE', `unknown opcode ${this.opcode}`)
        if (this.fromClient && !this.masked) return this.fail('MASK_REQUIRED', 'a client frame must be masked')
        if (!this.fromClient && this.masked) return this.fail('MASK_FORBIDDEN', 'a server frame must not be masked')
        const length = second & 0x7f
        if (length === 126) return void (this.stateValue = 'length16')
        if (length === 127) return void (this.stateValue = 'length64')
        this.length = length
        this.headerSize = 2
        return this.afterLength()
      }
      case 'length16':
        this.length = b.readUInt16BE(2)
        this.headerSize = 4
        return this.afterLength()
      case 'length64': {
        const high = b.readUInt32BE(2)
        if (high > 0x1fffff) return this.fail('LENGTH_OVERFLOW', 'frame length beyond 2^53 - 1')
        this.length = high * 2 ** 32 + b.readUInt32BE(6)
        this.headerSize = 10
        return this.afterLength()
      }
      default: {
        const key = b.subarray(this.headerSize, this.headerSize + 4)
        this.mask = key.readUInt32BE(0) === 0 ? undefined : Buffer.from(key)
        this.headerSize += 4
        return this.beginFrame()
      }
    }
  }

  private afterLength(): void {
    if (this.opcode >= Opcode.close && (!this.fin || this.length > 125)) return this.fail('BAD_CONTROL_FRAME', 'control frames must be final and at most 125 bytes')
    this.mask = undefined
    if (this.masked) this.stateValue = 'mask'
    else this.beginFrame()
  }

  private beginFrame(): void {
    this.scratchLength = 0
    this.maskOffset = 0
    this.left = this.length
    if (this.opcode >= Opcode.close) {
      this.control = []
      this.stateValue = 'control'
      if (this.left === 0) this.endControl()
      return
    }
    if (this.opcode === Opcode.continuation && !this.fragmented) return this.fail('UNEXPECTED_CONTINUATION', 'a continuation frame without a message to continue')
    if (this.opcode !== Opcode.continuation && this.fragmented) return this.fail('EXPECTED_CONTINUATION', 'a new message began before the fragmented one ended')
    this.fragmented = !this.fin
    this.stateValue = 'payload'
    this.handler.onFrameStart?.({fin: this.fin, opcode: this.opcode, length: this.length, mask: this.mask, size: this.headerSize})
  }

  private endData(): void {
    if (this.stateValue === 'payload') this.stateValue = 'info'
    this.handler.onFrameEnd?.()
  }

  private endControl(): void {
    const payload = this.control.length === 1 ? Buffer.from(this.control[0]!) : Buffer.concat(this.control)
    this.control = []
    if (this.mask) unmask(payload, this.mask, 0)
    this.stateValue = 'info'
    this.handler.onControl(this.opcode, payload)
  }

  private fail(code: FrameErrorCode, message: string): void {
    this.stateValue = 'failed'
    this.scratchLength = 0
    this.handler.onError({code, message})
  }
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

/** The code and reason of a Close payload (1005 when it has none), or an error (a BAD_CLOSE_PAYLOAD). */
export function parseClosePayload(payload: Buffer): {code: number; reason: string} | {error: string} {
  if (payload.length === 0) return {code: 1005, reason: ''}
  if (payload.length === 1) return {error: 'a Close payload of one byte'}
  return {code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8')}
}

/** XORs `data` in place with the mask key, starting at `offset` into the key. */
export function unmask(data: Buffer, key: Buffer, offset: number): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= key[(offset + i) & 3]!
}
