import {isIP} from 'node:net'
import {checkServerIdentity, connect as tlsConnect, type PeerCertificate} from 'node:tls'

import type {CloudProfile} from '../../azure/clouds.js'
import {withDeadline} from '../../deadline.js'
import {parseEndpointMetadata} from '../../relay/endpoint.js'
import type {AppRef, RelayHybridConnection, WebHybridConnection} from '../../hybrid/model.js'
import {relayOf} from '../../hybrid/usages.js'
import type {WebApi} from '../../hybrid/web.js'
import {redactText} from '../../output/redact.js'
import {type CheckDefinition, fail, pass, skip, warn} from './types.js'

/**
 * The endpoint checks users trip over (product docs, "Things you can't do with Hybrid
 * Connections": UDP, TCP services with dynamic ports such as FTP passive mode, LDAP because it
 * can need UDP, Active Directory), SQL Server named instances (SQL Browser on UDP 1434 and a
 * dynamic port), two hybrid connections of one app on the same host:port, and (with
 * `--probe tls`) an endpoint whose certificate is for another name.
 */
export interface EndpointCheckContext {
  web?: WebApi
  app?: {ref: AppRef; relays?: WebHybridConnection[]}
  webRelay?: WebHybridConnection
  relayRef: {resourceGroup: string; namespace: string; name: string}
  relayHc?: RelayHybridConnection
  endpoint?: {host: string; port: number}
  cloud: CloudProfile
  timeoutMs: number
  signal?: AbortSignal
  sendKey?: {name: string; value: string; source: string}
  names: {endpointSet: string}
  /** `--probe tls` was asked. */
  endpointTls?: boolean
  /** Every hybrid connection of the app (read once per app). */
  appRelays?: () => Promise<WebHybridConnection[]>
}

type Verdict = 'fail' | 'warn'
interface PortRule {
  service: string
  verdict: Verdict
  why: string
}

const DYNAMIC = 'Hybrid connections carry one TCP host:port; services that open more connections on ports they pick at run time cannot work.'
const UDP = 'Hybrid connections carry TCP only; UDP never goes through them.'

/** Well-known ports of services that need UDP or dynamic ports. */
export const PORT_RULES: Record<number, PortRule> = {
  1434: {service: 'SQL Server Browser (UDP 1434)', verdict: 'fail', why: `SQL Browser answers on UDP to find a named instance's dynamic port. ${UDP}`},
  21: {service: 'FTP', verdict: 'warn', why: `Only the control connection goes through: passive and extended passive mode open data connections on dynamic ports. ${DYNAMIC}`},
  990: {service: 'FTPS (implicit)', verdict: 'warn', why: `Only the control connection goes through: data connections use dynamic ports. ${DYNAMIC}`},
  389: {service: 'LDAP', verdict: 'warn', why: 'LDAP can need UDP (CLDAP on 389/UDP finds domain controllers) and referrals to other servers; a bind to this one server over TCP works, Active Directory features do not.'},
  636: {service: 'LDAPS', verdict: 'warn', why: 'Referrals and domain-controller discovery (CLDAP, UDP) do not go through; a bind to this one server works.'},
  3268: {service: 'AD Global Catalog (LDAP)', verdict: 'warn', why: 'Active Directory is not supported over hybrid connections (no domain join, Kerberos or DC discovery); plain LDAP queries to this server work.'},
  3269: {service: 'AD Global Catalog (LDAPS)', verdict: 'warn', why: 'Active Directory is not supported over hybrid connections; plain LDAP queries to this server work.'},
  88: {service: 'Kerberos', verdict: 'fail', why: `Kerberos is mostly UDP and belongs to Active Directory, which hybrid connections do not support. ${UDP}`},
  135: {service: 'RPC endpoint mapper', verdict: 'fail', why: `The endpoint mapper hands out dynamic ports for the real calls. ${DYNAMIC}`},
  53: {service: 'DNS', verdict: 'warn', why: `DNS is mostly UDP; only DNS over TCP would go through. ${UDP}`},
  69: {service: 'TFTP', verdict: 'fail', why: UDP},
  123: {service: 'NTP', verdict: 'fail', why: UDP},
  161: {service: 'SNMP', verdict: 'fail', why: UDP},
  162: {service: 'SNMP traps', verdict: 'fail', why: UDP},
  500: {service: 'IKE (IPsec)', verdict: 'fail', why: UDP},
  514: {service: 'syslog', verdict: 'warn', why: `Classic syslog is UDP 514; only a syslog server that accepts TCP on this port works. ${UDP}`},
  1812: {service: 'RADIUS', verdict: 'fail', why: UDP},
  1813: {service: 'RADIUS accounting', verdict: 'fail', why: UDP},
}

const NAMED_INSTANCE_REMEDY =
  'Give the SQL Server instance a static TCP port (SQL Server Configuration Manager → Protocols → TCP/IP → IP Addresses → IPAll: clear "TCP Dynamic Ports", set "TCP Port", restart the instance), point the hybrid connection at host:that-port, and connect with `Server=tcp:HOST,PORT` instead of `HOST\\INSTANCE`.'

/** `host\INSTANCE` (or `host\INSTANCE:port`) in a host text: a SQL Server named instance. */
export function namedInstance(text: string | undefined): {host: string; instance: string} | undefined {
  const m = /^([^\\:]+)\\([^\\:]+)(?::\d+)?$/.exec(text?.trim() ?? '')
  return m ? {host: m[1]!, instance: m[2]!} : undefined
}

/** The endpoint item's text as written, even when config.metadata rejects it (a backslash is not part of a DNS name). */
function rawEndpointValue(hc: RelayHybridConnection | undefined): string | undefined {
  return parseEndpointMetadata(hc?.userMetadata).items?.find((i) => i.key.trim().toLowerCase() === 'endpoint')?.value
}

export const endpointService: CheckDefinition<EndpointCheckContext> = {
  id: 'endpoint.service',
  title: 'The endpoint is a TCP service on a static port',
  dependsOn: ['config.relay-exists'],
  async run(c) {
    const texts = [rawEndpointValue(c.relayHc), c.webRelay?.properties?.hostname].filter((t): t is string => Boolean(t))
    const instance = texts.map(namedInstance).find(Boolean)
    if (instance) {
      return fail(
        [`"${instance.host}\\${instance.instance}" is a SQL Server named instance: clients find its port through SQL Browser (UDP 1434), and the port is dynamic`],
        NAMED_INSTANCE_REMEDY,
        {service: 'SQL Server named instance', instance: instance.instance},
      )
    }
    const port = c.endpoint?.port ?? (c.webRelay?.properties?.port ? Number(c.webRelay.properties.port) : undefined)
    if (port === undefined) return skip('no endpoint port to judge (see config.metadata)')
    const rule = PORT_RULES[port]
    if (!rule) return pass(`port ${port}: no known UDP or dynamic-port service`, {port})
    const evidence = [`port ${port} is ${rule.service}`, rule.why]
    const data = {port, service: rule.service}
    if (port === 1434) return fail(evidence, NAMED_INSTANCE_REMEDY, data)
    const remedy =
      rule.verdict === 'fail'
        ? 'Hybrid connections cannot carry this service. Use VNet integration with a VPN or ExpressRoute gateway to reach it, or put a TCP-speaking service in front of it.'
        : `If the app needs more than one TCP connection to ${port}, use VNet integration instead; for FTP use active mode or SFTP (TCP 22), for LDAP bind to one named server over TCP.`
    return rule.verdict === 'fail' ? fail(evidence, remedy, data) : warn(evidence, remedy, data)
  },
}

export const endpointUnique: CheckDefinition<EndpointCheckContext> = {
  id: 'endpoint.unique',
  title: 'No other hybrid connection of the app has this host:port',
  dependsOn: ['config.web-resource'],
  async run(c) {
    const me = c.webRelay!.properties
    const key = (h?: string, p?: number) => `${(h ?? '').toLowerCase().replace(/\.$/, '')}:${Number(p)}`
    const mine = key(me.hostname, me.port)
    const myRelay = relayOf(c.webRelay!)
    const all = (await c.appRelays?.()) ?? []
    const others = all.filter((r) => key(r.properties?.hostname, r.properties?.port) === mine).map((r) => relayOf(r)).filter((r) => r && !(myRelay && r.namespace.toLowerCase() === myRelay.namespace.toLowerCase() && r.name.toLowerCase() === myRelay.name.toLowerCase()))
    if (others.length === 0) return pass(`${me.hostname}:${me.port} is used by this hybrid connection only`)
    const names = others.map((r) => `${r!.namespace}/${r!.name}`)
    return fail(
      [`${names.join(', ')} also ${names.length === 1 ? 'has' : 'have'} ${me.hostname}:${me.port}`, 'App Service sends a host:port through one hybrid connection; which one is not defined, so half of the setup is dead weight or traffic goes to the wrong agents'],
      `Keep one: \`hcctl disconnect HC --namespace NS --app ${c.app?.ref.app ?? 'APP'} --resource-group ${c.app?.ref.resourceGroup ?? 'RG'}\` for the others, or give each its own host:port (\`hcctl endpoint set\`).`,
      {duplicates: names},
    )
  },
}

function dn(name: PeerCertificate['subject'] | undefined): string | undefined {
  if (!name) return undefined
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
  return parts.length > 0 ? parts.join(', ') : undefined
}

export interface EndpointTlsFacts {
  subject?: string
  issuer?: string
  subjectAltNames?: string
  /** The chain is trusted by this machine's roots. */
  trusted: boolean
  /** The certificate is valid for the endpoint's host name. */
  nameMatches: boolean
  nameError?: string
}

/** A TLS handshake with the endpoint through the relay (sender, the app's key), SNI = the endpoint's host. */
export async function endpointTlsThroughRelay(c: EndpointCheckContext): Promise<EndpointTlsFacts> {
  const {connectSenderStream} = await import('../../relay/sender.js')
  const e = c.endpoint!
  const conn = await connectSenderStream({cloud: c.cloud, namespace: c.relayRef.namespace, entity: c.relayRef.name, keyName: c.sendKey!.name, key: c.sendKey!.value, timeoutMs: c.timeoutMs, signal: c.signal, headers: {'x-hcctl-probe': 'check-tls'}})
  try {
    return await withDeadline<EndpointTlsFacts>(
      {timeoutMs: c.timeoutMs, signal: c.signal, timeoutError: () => Object.assign(new Error(`no TLS answer from ${e.host}:${e.port} within ${c.timeoutMs} ms`), {code: 'ETIMEDOUT'})},
      (settle) => {
        const t = tlsConnect({socket: conn.stream, ...(isIP(e.host) ? {} : {servername: e.host}), rejectUnauthorized: false})
        t.once('secureConnect', () => {
          const cert = t.getPeerCertificate()
          const nameError = checkServerIdentity(e.host, cert)
          settle(undefined, {
            subject: dn(cert?.subject),
            issuer: dn(cert?.issuer),
            subjectAltNames: cert?.subjectaltname,
            trusted: t.authorized,
            nameMatches: !nameError,
            ...(nameError ? {nameError: nameError.message} : {}),
          })
        })
        t.once('error', (err) => settle(err))
        t.once('close', () => settle(new Error('the endpoint closed the connection during the TLS handshake')))
        return () => t.destroy()
      },
    )
  } finally {
    conn.stream.destroy()
    conn.ws.socket.destroy()
  }
}

export const endpointTlsName: CheckDefinition<EndpointCheckContext> = {
  id: 'endpoint.tls-name',
  title: 'The endpoint\'s TLS certificate is for its name',
  dependsOn: ['roundtrip.connect'],
  async run(c) {
    if (!c.endpointTls) return skip('not asked: add --probe tls to check the certificate the endpoint presents')
    const e = c.endpoint!
    let facts: EndpointTlsFacts
    try {
      facts = await endpointTlsThroughRelay(c)
    } catch (error) {
      return warn(
        [`no TLS handshake with ${e.host}:${e.port} through the tunnel: ${redactText((error as Error).message).slice(0, 200)}`],
        'The service on this port does not start with TLS (a plain protocol, or one that negotiates TLS later, such as SQL Server, SMTP STARTTLS or PostgreSQL). Nothing to check here; --probe tls is for ports that speak TLS from the first byte.',
      )
    }
    const evidence = [`subject ${facts.subject ?? '?'}`, `names ${facts.subjectAltNames ?? '(none)'}`, `issuer ${facts.issuer ?? '?'}`]
    const data = {subject: facts.subject, subjectAltNames: facts.subjectAltNames, issuer: facts.issuer, trusted: facts.trusted, nameMatches: facts.nameMatches}
    if (!facts.nameMatches) {
      return fail(
        [...evidence, `not valid for ${e.host}: ${facts.nameError ?? 'name mismatch'}`],
        `The agent reaches ${e.host}:${e.port}, but the service there presents a certificate for another name, so the app's TLS client will refuse it. Use the name on the certificate as the hybrid connection's host (\`hcctl endpoint set ... --endpoint NAME:${e.port}\`, and the same name in the app), or give the service a certificate that includes ${e.host}.`,
        data,
      )
    }
    if (!facts.trusted) {
      return warn(
        [...evidence, 'the certificate is valid for the name but not issued by a CA this machine trusts (an internal CA?)'],
        'The app must trust the issuing CA (for example load it as a private certificate in App Service), or the service needs a publicly trusted certificate.',
        data,
      )
    }
    return pass(evidence, data)
  },
}
