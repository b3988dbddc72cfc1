import {type ExportAppRelay, type ExportPlan, RELAY_API, ruleExported, WEB_API} from './model.js'

/**
 * The ARM JSON form. Two traps of hand-written templates are handled here:
 * * `userMetadata` is a JSON array inside a string, and a template string that starts with `[`
 *   is an expression: the literal is written with ARM's escape, a leading `[[`.
 * * `sendKeyValue` is `listKeys(resourceId(...rule...), api).primaryKey`, evaluated at
 *   deployment, never a literal key (without it the portal says "Connected" and nothing works).
 */

/** A string literal inside a template expression: single quotes, doubled when inside. */
export const q = (s: string): string => `'${s.replace(/'/g, "''")}'`

/** A template string value: an expression-looking literal gets ARM's `[[` escape. */
export function armLiteral(s: string): string {
  return s.startsWith('[') ? `[${s}` : s
}

const nsId = (ns: string) => `resourceId('Microsoft.Relay/namespaces', ${q(ns)})`
const hcId = (ns: string, hc: string) => `resourceId('Microsoft.Relay/namespaces/hybridConnections', ${q(ns)}, ${q(hc)})`
const hcRuleId = (ns: string, hc: string, rule: string) => `resourceId('Microsoft.Relay/namespaces/hybridConnections/authorizationRules', ${q(ns)}, ${q(hc)}, ${q(rule)})`
const nsRuleId = (ns: string, rule: string) => `resourceId('Microsoft.Relay/namespaces/authorizationRules', ${q(ns)}, ${q(rule)})`

function keyRuleId(r: ExportAppRelay): string {
  return r.keyScope === 'hybridConnection' ? hcRuleId(r.namespace, r.name, r.sendKeyName) : nsRuleId(r.namespace, r.sendKeyName)
}

export function renderArm(plan: ExportPlan): string {
  const slot = plan.app.slot
  const resources: unknown[] = []
  for (const n of plan.namespaces) {
    resources.push({type: 'Microsoft.Relay/namespaces', apiVersion: RELAY_API, name: n.name, location: n.location, sku: {name: 'Standard', tier: 'Standard'}, properties: {}})
  }
  for (const h of plan.hybridConnections) {
    resources.push({
      type: 'Microsoft.Relay/namespaces/hybridConnections',
      apiVersion: RELAY_API,
      name: `${h.namespace}/${h.name}`,
      dependsOn: [`[${nsId(h.namespace)}]`],
      properties: {requiresClientAuthorization: h.requiresClientAuthorization, ...(h.userMetadata !== undefined ? {userMetadata: armLiteral(h.userMetadata)} : {})},
    })
  }
  for (const r of plan.rules) {
    resources.push(
      r.hybridConnection
        ? {type: 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules', apiVersion: RELAY_API, name: `${r.namespace}/${r.hybridConnection}/${r.name}`, dependsOn: [`[${hcId(r.namespace, r.hybridConnection)}]`], properties: {rights: r.rights}}
        : {type: 'Microsoft.Relay/namespaces/authorizationRules', apiVersion: RELAY_API, name: `${r.namespace}/${r.name}`, dependsOn: [`[${nsId(r.namespace)}]`], properties: {rights: r.rights}},
    )
  }
  for (const r of plan.relays) {
    resources.push({
      type: slot ? 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays' : 'Microsoft.Web/sites/hybridConnectionNamespaces/relays',
      apiVersion: WEB_API,
      name: slot ? `[concat(parameters('appName'), '/', parameters('slotName'), ${q(`/${r.namespace}/${r.name}`)})]` : `[concat(parameters('appName'), ${q(`/${r.namespace}/${r.name}`)})]`,
      dependsOn: [`[${hcId(r.namespace, r.name)}]`, ...(ruleExported(plan, r) ? [`[${keyRuleId(r)}]`] : [])],
      properties: {
        serviceBusNamespace: r.namespace,
        relayName: r.name,
        relayArmUri: `[${hcId(r.namespace, r.name)}]`,
        hostname: armLiteral(r.hostname),
        port: r.port,
        sendKeyName: r.sendKeyName,
        sendKeyValue: `[listKeys(${keyRuleId(r)}, ${q(RELAY_API)}).primaryKey]`,
        serviceBusSuffix: r.serviceBusSuffix,
      },
    })
  }
  const template = {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    metadata: {generator: 'hcctl export', description: `Hybrid connections of ${plan.app.app}${slot ? ` (slot ${slot})` : ''}: Relay namespace, hybrid connections with endpoint metadata, rules, and the app's relays with the send key from listKeys().`},
    parameters: {
      appName: {type: 'string', defaultValue: plan.app.app, metadata: {description: 'The App Service app that uses the hybrid connections (it must exist).'}},
      ...(slot ? {slotName: {type: 'string', defaultValue: slot, metadata: {description: 'The deployment slot.'}}} : {}),
    },
    resources,
  }
  return JSON.stringify(template, null, 2) + '\n'
}
