import {isIP} from 'node:net'

import type {ArmClient} from '../../azure/arm-types.js'
import type {AppRef, WebHybridConnection} from '../../hybrid/model.js'
import {type AppNameResolution, isPrivateAddress, resolveFromApp} from '../name-resolution.js'
import {type CheckDefinition, fail, pass, skip, warn} from './types.js'

export interface ResolutionCheckContext {
  arm: ArmClient
  subscriptionId: string
  app?: {ref: AppRef}
  webRelay?: WebHybridConnection
  signal?: AbortSignal
  appRelays?: () => Promise<WebHybridConnection[]>
  names: {endpointSet: string}
}

const where = (r: AppNameResolution) => r.matches.map((m) => `${m.namespace}/${m.name}`).join(', ')

export const appNameResolution: CheckDefinition<ResolutionCheckContext> = {
  id: 'app.name-resolution',
  title: 'What the app resolves for the endpoint name',
  dependsOn: ['config.web-resource'],
  async run(c) {
    const name = c.webRelay!.properties.hostname ?? ''
    if (!name || isIP(name) || /^localhost\.?$/i.test(name)) return skip(`${name || 'no host name'}: not a name the app's DNS answers (see config.endpoint-host)`)
    const relays = (await c.appRelays?.()) ?? [c.webRelay!]
    const r = await resolveFromApp({arm: c.arm, subscriptionId: c.subscriptionId, app: c.app!.ref, name, relays, signal: c.signal})
    const rule = `the app's lookups of exactly "${name}" (any letter case) go through ${where(r) || 'no hybrid connection'}`
    const misses = r.nearMisses.length > 0 ? [`similar names on other hybrid connections are not this one: ${r.nearMisses.join(', ')}`] : []
    const data = {name, redirect: r.redirect, matches: r.matches, nearMisses: r.nearMisses, ...(r.answer ? {addresses: r.answer.addresses, notFound: r.answer.notFound, ...(r.answer.server ? {server: r.answer.server} : {})} : {})}
    const shortOrOther = `a short name ("${name.split('.')[0]}"), another spelling of the domain, a trailing dot or an IP address in the app's connection string is not redirected`
    if (!r.answer) {
      return skip([rule, `nameresolver could not run inside the app: ${r.unavailable ?? 'no answer'} (Kudu's nameresolver exists on Windows apps)`, ...misses], data)
    }
    const answer = r.answer.notFound ? `the app's DNS${r.answer.server ? ` (${r.answer.server})` : ''} does not know the name` : `the app's DNS${r.answer.server ? ` (${r.answer.server})` : ''} answers ${r.answer.addresses.join(', ')}`
    if (r.redirect === 'elsewhere') {
      const priv = r.answer.addresses.filter(isPrivateAddress)
      return fail(
        [answer, `${priv.join(', ')} ${priv.length === 1 ? 'is a private address' : 'are private addresses'}: the app's own DNS (a VNet-integrated app's private DNS zone or custom DNS server) answers first, so the app connects there, not through ${where(r)}`, ...misses],
        `Decide which path the app should take: remove the record for ${name} from the private DNS zone (or the app's custom DNS server) so the hybrid connection carries it, or drop the hybrid connection and reach ${name} through the VNet.`,
        data,
      )
    }
    const evidence = [answer, rule, shortOrOther, ...misses]
    if (misses.length === 0) return pass(evidence, data)
    return warn(evidence, `Make the app use exactly the name on the hybrid connection; if it uses one of the other names, set the hybrid connection's endpoint to that name (\`${c.names.endpointSet}\`).`, data)
  },
}
