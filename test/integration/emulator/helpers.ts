import {request} from 'node:https'

import type {Emulator} from '../../../src/emulator/index.js'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any
}

/** One HTTPS request to the emulator, trusting its CA only. */
export function call(
  emu: Emulator,
  method: string,
  path: string,
  options: {token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string>; apiVersion?: string | null} = {},
): Promise<RawResponse> {
  const url = new URL(path.startsWith('http') ? path : `${emu.armUrl}${path}`)
  if (options.apiVersion !== null && !url.searchParams.has('api-version') && !path.startsWith('http')) {
    url.searchParams.set('api-version', options.apiVersion ?? defaultVersion(url.pathname))
  }
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
  const headers: Record<string, string> = {...options.headers}
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? tokenFor(emu)}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  return new Promise((resolve, reject) => {
    const req = request(url, {method, ca: emu.ca, headers}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        let json: unknown
        try {
          json = text ? JSON.parse(text) : undefined
        } catch {
          json = undefined
        }
        resolve({status: res.statusCode ?? 0, headers: res.headers, text, json})
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

function defaultVersion(pathname: string): string {
  if (/microsoft\.relay/i.test(pathname)) return '2017-04-01'
  if (/microsoft\.web/i.test(pathname)) return '2024-04-01'
  return '2021-04-01'
}

export function tokenFor(emu: Emulator, who: 'contributor' | 'reader' = 'contributor', audience?: string): string {
  const principal = emu.state.data.principals[who]
  return emu.tokens.issue({principal, audience: audience ?? emu.armUrl}).token
}

/** A resource group, a Standard plan, an app, a namespace and a hybrid connection with endpoint metadata. */
export async function scaffold(emu: Emulator, names = {rg: 'rg1', plan: 'plan1', site: 'app1', ns: 'relay-ns1', hc: 'hc1'}, sku = 'S1') {
  const sub = `/subscriptions/${emu.subscriptionId}`
  const rg = `${sub}/resourceGroups/${names.rg}`
  await expectOk(call(emu, 'PUT', rg, {body: {location: 'westeurope'}}))
  await expectOk(call(emu, 'PUT', `${rg}/providers/Microsoft.Web/serverfarms/${names.plan}`, {body: {location: 'westeurope', sku: {name: sku}}}))
  const planId = `${rg}/providers/Microsoft.Web/serverfarms/${names.plan}`
  await expectOk(call(emu, 'PUT', `${rg}/providers/Microsoft.Web/sites/${names.site}`, {body: {location: 'westeurope', kind: 'app', properties: {serverFarmId: planId}}}))
  const nsPath = `${rg}/providers/Microsoft.Relay/namespaces/${names.ns}`
  await expectOk(call(emu, 'PUT', nsPath, {body: {location: 'westeurope'}}))
  const hcPath = `${nsPath}/hybridConnections/${names.hc}`
  await expectOk(call(emu, 'PUT', hcPath, {body: {properties: {requiresClientAuthorization: true, userMetadata: '[{"key":"endpoint","value":"db.internal:5432"}]'}}}))
  return {sub, rg, planId, nsPath, hcPath, sitePath: `${rg}/providers/Microsoft.Web/sites/${names.site}`}
}

export async function expectOk(p: Promise<RawResponse>): Promise<RawResponse> {
  const r = await p
  if (r.status >= 300) throw new Error(`expected success, got ${r.status}: ${r.text}`)
  return r
}

export function webHcBody(scaffolded: {hcPath: string}, ns: string, hc: string, extra: Record<string, unknown> = {}) {
  return {properties: {serviceBusNamespace: ns, relayName: hc, relayArmUri: scaffolded.hcPath, hostname: 'db.internal', port: 5432, sendKeyName: 'defaultSender', sendKeyValue: 'c2VjcmV0LXNlbmQta2V5LXZhbHVlLXRoYXQtaXMtbG9uZw==', serviceBusSuffix: '.servicebus.localhost', ...extra}}
}
