import {isIP} from 'node:net'

import type {ArmClient} from '../azure/arm-types.js'
import {ExitCode, HcctlError, UsageError} from '../errors.js'
import {siteId} from '../azure/resource-id.js'
import {siteRefOf} from '../hybrid/model.js'
import type {AppRef} from '../hybrid/model.js'
import {relayOf} from '../hybrid/usages.js'
import {WebApi} from '../hybrid/web.js'
import {redactText} from '../output/redact.js'
import {parseKuduTcpPing, readKuduAnswer} from './kudu.js'
import {summarize, type TcpPingResult} from './tcpping.js'

export interface RemoteTcpPingOptions {
  arm: ArmClient
  subscriptionId: string
  app: AppRef
  host: string
  port: number
  count: number
  timeoutMs: number
  minSuccess?: number
  signal?: AbortSignal
}

/**
 * tcpping from inside an App Service app: Kudu's command API (`POST {siteId}/extensions/api/command`
 * with `tcpping -n N -w MS host:port`), parsed into the same result as a local tcpping. When
 * host:port is one of the app's hybrid connections the result says so: App Service sent those
 * attempts through the relay, so they prove the app → relay → agent → endpoint path, not a
 * route from the app's network.
 */
export async function tcpPingFromApp(o: RemoteTcpPingOptions): Promise<TcpPingResult> {
  if (!Number.isFinite(o.count)) throw new UsageError('--continuous cannot run inside an app; give --count.', {code: 'ContinuousRemote'})
  const web = new WebApi(o.arm, o.subscriptionId, o.signal)
  const target = isIP(o.host) === 6 ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`
  const [relays, answer] = await Promise.all([
    web.listSiteRelays(o.app),
    o.arm.request<unknown>({
      method: 'POST',
      path: `${siteId(siteRefOf(o.subscriptionId, o.app))}/extensions/api/command`,
      body: {command: `tcpping -n ${Math.min(o.count, 20)} -w ${Math.max(1, Math.round(o.timeoutMs))} ${target}`, dir: null},
      idempotent: true,
      signal: o.signal,
    }),
  ])
  let kudu
  try {
    kudu = readKuduAnswer(answer.body)
  } catch (error) {
    throw new HcctlError(`tcpping inside ${o.app.app}: ${(error as Error).message}.`, ExitCode.Unexpected, {code: 'KuduAnswerInvalid'})
  }
  const parsed = parseKuduTcpPing(kudu.output)
  if (parsed.attempts.length === 0) {
    throw new HcctlError(`tcpping inside ${o.app.app} did not run: ${redactText((kudu.error || kudu.output).trim().split(/\r?\n/)[0] ?? 'no output')}`, ExitCode.Unexpected, {
      code: 'KuduCommandFailed',
      suggestions: ['Kudu\'s tcpping runs on Windows apps (and in the emulator); on Linux apps use the SSH console with `curl -v telnet://HOST:PORT`.'],
    })
  }
  for (const a of parsed.attempts) if (a.connected) a.address = target
  const hc = relays
    .filter((r) => (r.properties?.hostname ?? '').toLowerCase() === o.host.toLowerCase() && Number(r.properties?.port) === o.port)
    .map((r) => relayOf(r))
    .find((r) => r !== undefined)
  const {summary, ok, minSuccess} = summarize(parsed.attempts, o.minSuccess)
  return {
    target: {host: o.host, port: o.port},
    from: {kind: 'app', app: o.app.app, ...(o.app.slot ? {slot: o.app.slot} : {}), ...(hc ? {hybridConnection: {namespace: hc.namespace, name: hc.name}} : {})},
    dns: {addresses: [], skipped: 'remote'},
    attempts: parsed.attempts,
    summary,
    minSuccess,
    ok,
  }
}
