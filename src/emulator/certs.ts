import {webcrypto} from 'node:crypto'

type KeyPair = webcrypto.CryptoKeyPair

/**
 * A private CA and server certificates for local TLS (the emulator, and test servers).
 * ECDSA P-256 keys: generated in milliseconds, so the emulator starts fast on a fresh state.
 * @peculiar/x509 is imported lazily: only code that makes certificates pays for it.
 */
export interface CertificateAuthority {
  /** PEM certificate */
  cert: string
  /** PEM PKCS#8 private key */
  key: string
}

export interface ServerCertificate {
  cert: string
  key: string
  /** The SANs the certificate was made for. */
  dnsNames: string[]
  ipAddresses: string[]
}

const ALG = {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'} as const

async function x509() {
  // tsyringe (a dependency of @peculiar/x509) needs the Reflect metadata API.
  const g = globalThis as unknown as {Reflect: {getMetadata?: unknown}}
  if (!g.Reflect.getMetadata) await import('reflect-metadata')
  const lib = await import('@peculiar/x509')
  lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0])
  return lib
}

function serial(): string {
  // Positive 16-byte serial number in hex.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] = bytes[0]! & 0x7f
  return Buffer.from(bytes).toString('hex')
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n')
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`
}

function fromPem(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')
  const buf = Buffer.from(b64, 'base64')
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
}

export async function createCertificateAuthority(commonName = 'hcctl emulator local CA', days = 3650): Promise<CertificateAuthority> {
  const lib = await x509()
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair
  const notBefore = new Date(Date.now() - 60_000)
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}, O=hcctl`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86_400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new lib.BasicConstraintsExtension(true, 0, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return {cert: cert.toString('pem') + '\n', key: toPem('PRIVATE KEY', pkcs8)}
}

export async function createServerCertificate(
  ca: CertificateAuthority,
  options: {dnsNames: string[]; ipAddresses?: string[]; days?: number},
): Promise<ServerCertificate> {
  const lib = await x509()
  const caCert = new lib.X509Certificate(ca.cert)
  const caKey = await webcrypto.subtle.importKey('pkcs8', fromPem(ca.key), ALG, false, ['sign'])
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1', '::1']
  const notBefore = new Date(Date.now() - 60_000)
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.dnsNames[0] ?? 'localhost'}, O=hcctl`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.days ?? 825) * 86_400_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      new lib.SubjectAlternativeNameExtension([
        ...options.dnsNames.map((value) => ({type: 'dns' as const, value})),
        ...ipAddresses.map((value) => ({type: 'ip' as const, value})),
      ]),
      await lib.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return {cert: cert.toString('pem') + '\n', key: toPem('PRIVATE KEY', pkcs8), dnsNames: options.dnsNames, ipAddresses}
}
