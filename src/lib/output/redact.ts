/**
 * Redaction of secrets in anything that may reach a terminal or a log: SAS tokens, bearer
 * tokens, keys in connection strings and JSON bodies. Used by the verbose logger, the error
 * renderer and every command that prints remote data.
 */

export const REDACTED = '***'

const SECRET_KEY_NAMES = new Set(
  [
    'primarykey',
    'secondarykey',
    'primaryconnectionstring',
    'secondaryconnectionstring',
    'sendkeyvalue',
    'key',
    'sharedaccesskey',
    'clientsecret',
    'client_secret',
    'password',
    'access_token',
    'accesstoken',
    'refresh_token',
    'id_token',
    'token',
    'authorization',
    'servicebusauthorization',
    'sb-hc-token',
  ].map((k) => k.toLowerCase()),
)

/** True for an object key whose value is a secret. */
export function isSecretKey(name: string): boolean {
  return SECRET_KEY_NAMES.has(name.toLowerCase())
}

const PATTERNS: Array<[RegExp, string]> = [
  // Bearer tokens (JWTs or opaque; RFC 6750 token68, 20 characters at least), not the prose
  // "a bearer token" nor a challenge's auth-params (`Bearer authorization_uri="…", error=…`:
  // short names, and `name=` followed by a value, where a token68 ends in padding).
  [/(Bearer\s+)(?![A-Za-z0-9\-._~]+=[A-Za-z0-9])[A-Za-z0-9\-._~+/]{20,}=*/gi, `$1${REDACTED}`],
  // Bare JWTs
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // SAS signature parameter, raw or URL-encoded
  [/((?:^|[&?\s;])sig(?:=|%3D))[^&\s;"']+/gi, `$1${REDACTED}`],
  // Connection string keys and signatures
  [/((?:SharedAccessKey|SharedAccessSignature|AccountKey|ClientSecret|Password)\s*=\s*)[^;"'\s]+(?:\s[^;"'\s=]+)*/gi, `$1${REDACTED}`],
  // sb-hc-token in query strings
  [/(sb-hc-token=)[^&\s"']+/gi, `$1${REDACTED}`],
  // JSON "key": "value" pairs with secret key names
  [
    /("(?:primaryKey|secondaryKey|primaryConnectionString|secondaryConnectionString|sendKeyValue|client_secret|clientSecret|access_token|accessToken|refresh_token|id_token|password|token)"\s*:\s*")([^"]*)(")/gi,
    `$1${REDACTED}$3`,
  ],
  // "key" is a secret (regenerateKeys' body) except as the name of a {"key","value"} item,
  // such as the endpoint metadata: there the value beside it is data and the key a name.
  [/(?<!"value"\s*:\s*"[^"]*"\s*,\s*)("key"\s*:\s*")([^"]*)(")(?!\s*,\s*"value"\s*:)/gi, `$1${REDACTED}$3`],
  // form-encoded client_secret=...
  [/((?:client_secret|client_assertion|refresh_token|password)=)[^&\s]+/gi, `$1${REDACTED}`],
]

/** Removes every secret this module recognises from a string. */
export function redactText(text: string): string {
  let out = text
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement)
  return out
}

/** Deep copy of a JSON-like value with secret-named properties replaced (non-empty ones). */
export function redactValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    const entries = Object.entries(value as Record<string, unknown>)
    const nameValueItem = entries.some(([k]) => k.toLowerCase() === 'value')
    for (const [k, v] of entries) {
      if (nameValueItem && k.toLowerCase() === 'key') out[k] = v
      else if (isSecretKey(k) && typeof v === 'string' && v.length > 0) out[k] = REDACTED
      else out[k] = redactValue(v)
    }
    return out as T
  }
  if (typeof value === 'string') return redactText(value) as T
  return value
}

/** Redacts the values of sensitive HTTP headers. */
export function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretKey(k) ? REDACTED : typeof v === 'string' ? redactText(v) : v
  return out
}
