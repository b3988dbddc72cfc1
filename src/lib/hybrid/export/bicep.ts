import {type ExportAppRelay, type ExportPlan, RELAY_API, ruleExported, WEB_API} from './model.js'

/**
 * The Bicep form: the same resources as the ARM form, children with `parent:`, the app's relays
 * depending on their rule through `listKeys()` on its symbol (Bicep adds the dependsOn). The
 * userMetadata JSON is a plain single-quoted Bicep string, where `[` means nothing.
 */

/** A Bicep string literal: `\`, `'` and `${` escaped. */
export function bicepString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`
}

/** A symbol from name parts: letters, digits and underscores, starting with a letter. */
export function symbol(...parts: string[]): string {
  const s = parts.join('_').replace(/[^A-Za-z0-9_]/g, '_')
  return /^[A-Za-z]/.test(s) ? s : `r_${s}`
}

export const nsSym = (ns: string) => symbol(ns)
export const hcSym = (ns: string, hc: string) => symbol(ns, hc)
export const ruleSym = (ns: string, hc: string | undefined, rule: string) => symbol(ns, ...(hc ? [hc] : []), rule)
export const appRelaySym = (r: {namespace: string; name: string}) => symbol('app', r.namespace, r.name)

function keySym(r: ExportAppRelay): string {
  return ruleSym(r.namespace, r.keyScope === 'hybridConnection' ? r.name : undefined, r.sendKeyName)
}

export function renderBicep(plan: ExportPlan): string {
  const slot = plan.app.slot
  const out: string[] = [
    `// Hybrid connections of ${plan.app.app}${slot ? ` (slot ${slot})` : ''}, written by hcctl export.`,
    '// The app must exist; the send key comes from listKeys() at deployment, never from this file.',
    '',
    "@description('The App Service app that uses the hybrid connections.')",
    `param appName string = ${bicepString(plan.app.app)}`,
  ]
  if (slot) out.push("@description('The deployment slot.')", `param slotName string = ${bicepString(slot)}`)
  for (const n of plan.namespaces) {
    out.push('', `resource ${nsSym(n.name)} 'Microsoft.Relay/namespaces@${RELAY_API}' = {`, `  name: ${bicepString(n.name)}`, `  location: ${bicepString(n.location)}`, "  sku: {\n    name: 'Standard'\n    tier: 'Standard'\n  }", '}')
  }
  for (const h of plan.hybridConnections) {
    out.push(
      '',
      `resource ${hcSym(h.namespace, h.name)} 'Microsoft.Relay/namespaces/hybridConnections@${RELAY_API}' = {`,
      `  parent: ${nsSym(h.namespace)}`,
      `  name: ${bicepString(h.name)}`,
      '  properties: {',
      `    requiresClientAuthorization: ${h.requiresClientAuthorization}`,
      ...(h.userMetadata !== undefined ? [`    userMetadata: ${bicepString(h.userMetadata)}`] : []),
      '  }',
      '}',
    )
  }
  for (const r of plan.rules) {
    const type = r.hybridConnection ? 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules' : 'Microsoft.Relay/namespaces/authorizationRules'
    out.push(
      '',
      `resource ${ruleSym(r.namespace, r.hybridConnection, r.name)} '${type}@${RELAY_API}' = {`,
      `  parent: ${r.hybridConnection ? hcSym(r.namespace, r.hybridConnection) : nsSym(r.namespace)}`,
      `  name: ${bicepString(r.name)}`,
      '  properties: {',
      `    rights: [${r.rights.map((x) => bicepString(x)).join(', ')}]`,
      '  }',
      '}',
    )
  }
  for (const r of plan.relays) {
    const type = slot ? 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays' : 'Microsoft.Web/sites/hybridConnectionNamespaces/relays'
    const name = slot ? `'\${appName}/\${slotName}/${r.namespace}/${r.name}'` : `'\${appName}/${r.namespace}/${r.name}'`
    const key = ruleExported(plan, r)
      ? `${keySym(r)}.listKeys().primaryKey`
      : `listKeys(resourceId('Microsoft.Relay/namespaces/authorizationRules', ${bicepString(r.namespace)}, ${bicepString(r.sendKeyName)}), '${RELAY_API}').primaryKey`
    out.push(
      '',
      `resource ${appRelaySym(r)} '${type}@${WEB_API}' = {`,
      `  name: ${name}`,
      '  properties: {',
      `    serviceBusNamespace: ${bicepString(r.namespace)}`,
      `    relayName: ${bicepString(r.name)}`,
      `    relayArmUri: ${hcSym(r.namespace, r.name)}.id`,
      `    hostname: ${bicepString(r.hostname)}`,
      `    port: ${r.port}`,
      `    sendKeyName: ${bicepString(r.sendKeyName)}`,
      `    sendKeyValue: ${key}`,
      `    serviceBusSuffix: ${bicepString(r.serviceBusSuffix)}`,
      '  }',
      '}',
    )
  }
  return out.join('\n') + '\n'
}
