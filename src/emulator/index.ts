import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Duplex} from 'node:stream'
import {rootCertificates} from 'node:tls'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import type {CloudProfile} from '../lib/azure/clouds.js'
import {type CertificateAuthority, createCertificateAuthority, createServerCertificate} from './certs.js'
import type {ArmEnv} from './arm/context.js'
import {handleMetadata, isMetadataPath} from './arm/metadata.js'
import {ArmRouter} from './arm/router.js'
import type {CreateRelayBroker, RelayBroker, RelayTokenCounters} from './contracts.js'
import {StateRelayDirectory} from './directory.js'
import {adminHandler, FaultControl} from './admin.js'
import type {ArmRequestRecord, FaultSpec} from './faults.js'
import {startGatewayStandIn} from './gateways.js'
import {HttpError, sendJson} from './http.js'
import {createRelayBroker} from './relay/broker.js'
import {AppSandbox, type RelayDialer} from './sandbox.js'
import {applySeed, loadSeed, type SeedFile} from './seed.js'
import {StateStore} from './state.js'
import {loadSigningKey, TokenService} from './tokens.js'

export {parseFaultSpec, FaultSpecError, type ArmRequestRecord} from './faults.js'
export {DEMO_SEED, SeedError} from './seed.js'
export type {SeedFile} from './seed.js'

/** The emulator's relay DNS suffix: namespace `ns` is `ns.servicebus.localhost`. */
export const EMULATOR_RELAY_SUFFIX = '.servicebus.localhost'
export const EMULATOR_APP_SERVICE_SUFFIX = '.azurewebsites.localhost'

export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) = any free port. */
  port?: number
  /** State directory (profile.json, certificates, state.json). Default: a temp dir when inMemory. */
  stateDir?: string
  /** Keep ARM state in memory only (profile and certificates still go to stateDir or a temp dir). */
  inMemory?: boolean
  /** `demo`, a seed file path, or a seed object. */
  seed?: string | SeedFile
  /** Fault spec (see faults.ts), e.g. `arm.429=2,arm.latency=200ms`. */
  faults?: string
  /** Items per page of pageable lists (default 100; tests force several pages with 1 or 2). */
  pageSize?: number
  /** GETs before a new namespace or plan reports Succeeded (default 1). */
  lroPolls?: number
  /** Retry-After on 202 answers; omitted by default. */
  retryAfterSeconds?: number
  /** Access-token lifetime (default 3600 s). */
  tokenLifetimeSeconds?: number
  /** Diagnostic lines (no secrets). */
  log?: (line: string) => void
  /**
   * Called once with every secret the emulator holds or hands out: the principals' client
   * secrets and every relay key (`key`, at start and after each ARM write, so keys replaced
   * by a rotation or deleted with a scratch hybrid connection are reported too), the access
   * tokens it issues (`bearer`) and the SAS tokens clients present to the relay (`sas`).
   * Tests use it to search hcctl's output for leaks; nothing else should.
   */
  onSecret?: (kind: EmulatorSecretKind, value: string) => void
  /** A relayed connection half-closed (one leg sent its Close) and silent this long is ended (default 30 s). */
  relayCloseTimeoutMs?: number
  /** Replaces the relay broker (tests). */
  createBroker?: CreateRelayBroker
  /** How the app sandbox opens a sender through the relay. */
  relayDialer?: RelayDialer
}

export type EmulatorSecretKind = 'clientSecret' | 'key' | 'bearer' | 'sas'

export interface EmulatorPrincipal {
  tenantId: string
  clientId: string
  clientSecret: string
  objectId: string
}

export interface Emulator {
  port: number
  armUrl: string
  authorityHost: string
  relaySuffix: string
  relayAddress: {host: string; port: number}
  stateDir: string
  profilePath: string
  caPath: string
  ca: string
  inMemory: boolean
  profile: CloudProfile
  tenantId: string
  subscriptionId: string
  principals: {contributor: EmulatorPrincipal; reader: EmulatorPrincipal}
  state: StateStore
  tokens: TokenService
  broker: RelayBroker
  /** Applies a fault spec (string) or a parsed one. */
  setFaults(spec: string | FaultSpec): void
  /** What the relay's front-door faults did so far (refused listen upgrades, timed drops). */
  faultCounters(): {refusedListens: number; drops: number}
  /** Every ARM request so far (oldest first, the last 10,000): arrival, answer, status, Retry-After, client request id. */
  armRequests(): ArmRequestRecord[]
  clearArmRequests(): void
  /** What the relay's control channels did with tokens so far (renewals taken or refused, channels cut at expiry). */
  relayTokenCounters(): RelayTokenCounters
  setPageSize(size: number): void
  stop(): Promise<void>
}

interface TlsFiles {
  ca: CertificateAuthority
  cert: string
  key: string
}

const SERVER_DNS_NAMES = ['localhost', `*${EMULATOR_RELAY_SUFFIX}`, EMULATOR_RELAY_SUFFIX.slice(1)]

/** The CA and server certificate: made on first start, reused afterwards. */
async function loadTls(dir: string): Promise<TlsFiles> {
  const files = {caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem')}
  let ca: CertificateAuthority
  let fresh = false
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    ca = {cert: readFileSync(files.caCert, 'utf8'), key: readFileSync(files.caKey, 'utf8')}
  } else {
    ca = await createCertificateAuthority()
    writeFileSync(files.caKey, ca.key, {mode: 0o600})
    writeFileSync(files.caCert, ca.cert)
    fresh = true
  }
  if (!fresh && existsSync(files.cert) && existsSync(files.key)) {
    return {ca, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8')}
  }
  const server = await createServerCertificate(ca, {dnsNames: SERVER_DNS_NAMES, ipAddresses: ['127.0.0.1', '::1']})
  writeFileSync(files.key, server.key, {mode: 0o600})
  writeFileSync(files.cert, server.cert)
  return {ca, cert: server.cert, key: server.key}
}

/**
 * Writes profile.json (the cloud profile hcctl and the tests use, mode 0600: it holds the
 * default principal's secret) and ca-bundle.pem, for tools that take one CA bundle (the Azure
 * CLI's REQUESTS_CA_BUNDLE, SSL_CERT_FILE, curl --cacert): Node's public roots plus our CA.
 */
function writeProfile(
  stateDir: string,
  o: {armUrl: string; port: number; caCert: string; resolver: CloudProfile['resolver']; defaults: NonNullable<CloudProfile['defaults']>},
): {profile: CloudProfile; profilePath: string; caPath: string} {
  writeFileSync(join(stateDir, 'ca-bundle.pem'), [...rootCertificates, o.caCert.trim()].join('\n') + '\n')
  const profile: CloudProfile = {
    name: 'emulator',
    armEndpoint: o.armUrl,
    armAudience: o.armUrl,
    authorityHost: o.armUrl,
    relaySuffix: EMULATOR_RELAY_SUFFIX,
    appServiceSuffix: EMULATOR_APP_SERVICE_SUFFIX,
    caPath: 'ca.pem',
    relayAddress: {host: '127.0.0.1', port: o.port},
    resolver: o.resolver,
    disableInstanceDiscovery: true,
    defaults: o.defaults,
  }
  const profilePath = join(stateDir, 'profile.json')
  writeFileSync(profilePath, JSON.stringify(profile, null, 2) + '\n', {mode: 0o600})
  // The mode above applies only to a new file: a profile an older version left readable stays so.
  chmodSync(profilePath, 0o600)
  return {profile, profilePath, caPath: join(stateDir, 'ca.pem')}
}

/** Reports the client secrets and relay keys of the state not reported before. */
function secretReporter(state: StateStore, onSecret: (kind: EmulatorSecretKind, value: string) => void): () => void {
  const seen = new Set<string>()
  const report = (kind: EmulatorSecretKind, value: string) => {
    if (!value || seen.has(value)) return
    seen.add(value)
    onSecret(kind, value)
  }
  return () => {
    const {principals, namespaces, sites} = state.data
    for (const p of [principals.contributor, principals.reader]) report('clientSecret', p.clientSecret)
    for (const ns of namespaces) {
      for (const r of [...ns.rules, ...ns.hybridConnections.flatMap((h) => h.rules)]) {
        report('key', r.primaryKey)
        report('key', r.secondaryKey)
      }
    }
    for (const site of sites) for (const h of [...site.hybridConnections, ...site.slots.flatMap((s) => s.hybridConnections)]) report('key', h.sendKeyValue)
  }
}

/** WebSocket upgrades: the relay's (after the front door's injected refusals), else 404. */
function upgradeHandler(broker: RelayBroker, faults: FaultControl, log: (line: string) => void) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refused = broker.isRelayRequest(req) ? faults.door.refuseUpgrade(req.url) : undefined
    if (refused) {
      socket.on('error', () => {})
      log(`faults: refused a listener upgrade with ${refused}`)
      return void socket.end(`HTTP/1.1 ${refused} Service Unavailable (fault injection)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (broker.isRelayRequest(req)) return broker.handleUpgrade(req, socket, head)
    socket.on('error', () => {})
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  }
}

/**
 * Starts the emulator: one HTTPS server on 127.0.0.1 serving ARM, the token service, the admin
 * endpoint and (handed to the broker) the relay. Resolves when it listens and profile.json is written.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const inMemory = options.inMemory === true
  const ownTempDir = !options.stateDir
  const stateDir = options.stateDir ? resolve(options.stateDir) : mkdtempSync(join(tmpdir(), 'hcctl-emulator-'))
  mkdirSync(stateDir, {recursive: true, mode: 0o700})
  const log = options.log ?? (() => {})

  const [tls, key] = await Promise.all([loadTls(stateDir), loadSigningKey(join(stateDir, 'token-key.pem'))])
  const state = StateStore.open(inMemory ? undefined : join(stateDir, 'state.json'))
  if (options.seed) {
    const seed = typeof options.seed === 'string' ? loadSeed(options.seed) : options.seed
    const created = applySeed(state, seed, EMULATOR_RELAY_SUFFIX)
    if (created) state.save()
  }

  let port = 0
  const armUrl = () => `https://127.0.0.1:${port}`
  const tokens = new TokenService({state, key, baseUrl: armUrl, lifetimeSeconds: options.tokenLifetimeSeconds, onIssued: options.onSecret && ((t) => options.onSecret!('bearer', t))})
  const broker = (options.createBroker ?? createRelayBroker)({
    directory: new StateRelayDirectory(state),
    relaySuffix: EMULATOR_RELAY_SUFFIX,
    rendezvousBase: () => `wss://127.0.0.1:${port}`,
    ...(options.relayCloseTimeoutMs === undefined ? {} : {closeTimeoutMs: options.relayCloseTimeoutMs}),
    ...(options.onSecret ? {onToken: (t: string) => options.onSecret!('sas', t)} : {}),
    log,
  })
  // The sandbox sends through our own relay like an App Service app: a sender with the app's key.
  const sandboxCloud: {profile?: CloudProfile} = {}
  const defaultDialer: RelayDialer = async (o) => {
    const {connectSender} = await import('../lib/relay/sender.js')
    const conn = await connectSender({cloud: sandboxCloud.profile, namespace: o.namespace, entity: o.name, keyName: o.keyName, key: o.key, timeoutMs: o.timeoutMs})
    return {close: () => conn.ws.close()}
  }
  const sandbox = new AppSandbox({state, dialRelay: options.relayDialer ?? defaultDialer, log})
  let pageSize = options.pageSize ?? 100
  const env: ArmEnv = {
    state,
    armUrl,
    relaySuffix: EMULATOR_RELAY_SUFFIX,
    appServiceSuffix: EMULATOR_APP_SERVICE_SUFFIX,
    runtime: broker,
    pageSize: () => pageSize,
    lroPolls: options.lroPolls ?? 1,
    retryAfterSeconds: options.retryAfterSeconds,
    pendingDeletes: new Map(),
    runCommand: (target, command) => sandbox.run(target, command),
  }
  const faults = new FaultControl(broker, log)
  const reportKeys = options.onSecret && secretReporter(state, options.onSecret)
  reportKeys?.()
  const router = new ArmRouter({env, tokens, faults: faults.arm, requests: faults.requests, log, ...(reportKeys ? {afterWrite: reportKeys} : {})})
  const setFaults = (input: string | FaultSpec) => faults.set(input)
  if (options.faults) setFaults(options.faults)

  const admin = adminHandler({armUrl, relaySuffix: EMULATOR_RELAY_SUFFIX, state, inMemory, stateDir, router, faults, broker})

  const server: Server = createServer({cert: tls.cert, key: tls.key}, (req, res) => {
    void (async () => {
      try {
        if (broker.isRelayRequest(req)) return broker.handleRequest(req, res)
        // Appended, not resolved: a path that starts with `//` (the Azure CLI asks for
        // `//metadata/endpoints`) is a path here, not a host.
        const url = new URL(`${armUrl()}${(req.url ?? '/').startsWith('/') ? req.url : `/${req.url}`}`)
        if (url.pathname.toLowerCase().startsWith('/emulator/')) return await admin(req, res, url)
        if (isMetadataPath(url.pathname)) return handleMetadata(req, res, url, armUrl())
        if (TokenService.isTokenPath(url.pathname)) return await tokens.handle(req, res, url)
        return await router.handle(req, res, url)
      } catch (error) {
        log(`request ${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`)
        if (!res.headersSent) sendJson(res, error instanceof HttpError ? error.status : 500, error instanceof HttpError ? error.body : {error: {code: 'InternalServerError', message: 'The emulator failed to process the request.'}})
        else res.destroy()
      }
    })()
  })
  server.on('upgrade', upgradeHandler(broker, faults, log))
  server.on('tlsClientError', (error) => log(`TLS: ${error.message}`))
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolveListen()
    })
  })
  port = (server.address() as AddressInfo).port
  const gatewayStandIn = await startGatewayStandIn({relaySuffix: EMULATOR_RELAY_SUFFIX, port})

  const {contributor, reader} = state.data.principals
  const tenantId = state.data.tenantId
  const subscriptionId = state.defaultSubscriptionId
  const {profile, profilePath, caPath} = writeProfile(stateDir, {
    armUrl: armUrl(),
    port,
    caCert: tls.ca.cert,
    resolver: gatewayStandIn.resolver,
    defaults: {tenantId, clientId: contributor.clientId, clientSecret: contributor.clientSecret, subscriptionId},
  })
  sandboxCloud.profile = {...profile, ca: tls.ca.cert, caPath}
  log(`listening on ${armUrl()} (state ${inMemory ? 'in memory' : join(stateDir, 'state.json')})`)

  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      faults.door.stopRepeating()
      const closed = new Promise<void>((r) => server.close(() => r()))
      server.closeAllConnections()
      await broker.close()
      await Promise.all([closed, gatewayStandIn.close()])
      state.save()
      if (ownTempDir) rmSync(stateDir, {recursive: true, force: true})
    })()
    return stopped
  }

  return {
    port,
    armUrl: armUrl(),
    authorityHost: armUrl(),
    relaySuffix: EMULATOR_RELAY_SUFFIX,
    relayAddress: {host: '127.0.0.1', port},
    stateDir,
    profilePath,
    caPath,
    ca: tls.ca.cert,
    inMemory,
    profile: {...profile, ca: tls.ca.cert, caPath},
    tenantId,
    subscriptionId,
    principals: {
      contributor: {tenantId, clientId: contributor.clientId, clientSecret: contributor.clientSecret, objectId: contributor.objectId},
      reader: {tenantId, clientId: reader.clientId, clientSecret: reader.clientSecret, objectId: reader.objectId},
    },
    state,
    tokens,
    broker,
    setFaults,
    faultCounters: () => ({...faults.door.counters}),
    armRequests: () => faults.requests.all(),
    clearArmRequests: () => faults.requests.clear(),
    relayTokenCounters: () => broker.tokenCounters(),
    setPageSize: (size: number) => {
      pageSize = size
    },
    stop,
  }
}
