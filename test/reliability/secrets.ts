import type {EmulatorSecretKind} from '../../src/emulator/index.js'
import {parseSasToken} from '../../src/lib/relay/sas.js'

/**
 * The secrets an emulator issued, and the search for them (whole or in part) in captured
 * output. Each secret is searched in the forms a leak would take: as issued, URL-encoded,
 * base64url, without its padding, base64 of its text, hex of its bytes, and a 16-character
 * head of each (a truncated print is still a leak). A SAS token is searched by its signature
 * (raw and URL-encoded), a bearer token by its signature segment and whole, a client secret
 * also as HTTP Basic credentials.
 */
export interface Secret {
  kind: EmulatorSecretKind
  value: string
  /** What is searched for. */
  needles: string[]
}

const HEAD = 16

function heads(...forms: string[]): string[] {
  return [...new Set(forms.filter((f) => f.length >= HEAD).map((f) => f.slice(0, HEAD)))]
}

function forms(value: string): string[] {
  const unpadded = value.replace(/=+$/, '')
  const out = [value, unpadded, encodeURIComponent(value), unpadded.replace(/\+/g, '-').replace(/\//g, '_'), Buffer.from(value).toString('base64')]
  if (/^[A-Za-z0-9+/]+=*$/.test(value)) out.push(Buffer.from(value, 'base64').toString('hex'))
  return out
}

export function secretOf(kind: EmulatorSecretKind, value: string, extra: {clientId?: string} = {}): Secret {
  switch (kind) {
    case 'sas': {
      const {sig} = parseSasToken(value)
      let raw = sig
      try {
        raw = decodeURIComponent(sig)
      } catch {
        // not URL-encoded: the raw form is the one transmitted
      }
      return {kind, value, needles: heads(...forms(raw), sig)}
    }
    case 'bearer': {
      const signature = value.split('.')[2] ?? value
      return {kind, value, needles: [...heads(...forms(signature)), value]}
    }
    case 'clientSecret': {
      const basic = extra.clientId ? [Buffer.from(`${extra.clientId}:${value}`).toString('base64').slice(-24)] : []
      return {kind, value, needles: [...heads(...forms(value)), ...basic]}
    }
    default:
      return {kind, value, needles: heads(...forms(value))}
  }
}

/** The secrets whose needles occur in `text`. */
export function secretsIn(text: string, secrets: Iterable<Secret>): Secret[] {
  const found: Secret[] = []
  for (const s of secrets) if (s.needles.some((n) => text.includes(n))) found.push(s)
  return found
}
