import {appRelaySym, hcSym, nsSym, ruleSym} from './bicep.js'
import {type ExportAppRelay, type ExportPlan, ruleExported, WEB_API} from './model.js'

/**
 * The Terraform form: azurerm for the Relay side (`user_metadata = jsonencode([...])`, so the
 * JSON-in-a-string is produced by Terraform itself), and azapi for the app's relays, because
 * `azurerm_web_app_hybrid_connection` has no `send_key_value` argument and left it empty in
 * provider versions of the terraform-provider-azurerm#13054 era: here it is the rule's
 * `primary_key`, which the provider reads with listKeys. Same resources, names and
 * dependencies (by reference) as the ARM form.
 */

/** An HCL string literal: `\`, `"`, `${` and `%{` escaped. */
export function hclString(s: string): string {
  // (function replacements: in a replacement string `$$` would mean one `$`)
  return `"${s.replace(/\\/g, () => '\\\\').replace(/"/g, () => '\\"').replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{').replace(/\n/g, () => '\\n').replace(/\r/g, () => '\\r').replace(/\t/g, () => '\\t')}"`
}

/** userMetadata as jsonencode() of its items when it is a JSON array of {key, value}; else the string as is. */
export function userMetadataHcl(raw: string): string {
  try {
    const items = JSON.parse(raw) as unknown
    if (Array.isArray(items) && items.every((i) => i && typeof i === 'object' && Object.keys(i).join(',') === 'key,value' && typeof i.key === 'string' && typeof i.value === 'string')) {
      return `jsonencode([\n${(items as Array<{key: string; value: string}>).map((i) => `    { key = ${hclString(i.key)}, value = ${hclString(i.value)} },`).join('\n')}\n  ])`
    }
  } catch {
    // not JSON: keep the text (hcctl check reports config.metadata)
  }
  return hclString(raw)
}

function keyExpr(plan: ExportPlan, r: ExportAppRelay): string {
  if (ruleExported(plan, r)) {
    const type = r.keyScope === 'hybridConnection' ? 'azurerm_relay_hybrid_connection_authorization_rule' : 'azurerm_relay_namespace_authorization_rule'
    return `${type}.${ruleSym(r.namespace, r.keyScope === 'hybridConnection' ? r.name : undefined, r.sendKeyName)}.primary_key`
  }
  return `data.azurerm_relay_namespace_authorization_rule.${ruleSym(r.namespace, undefined, r.sendKeyName)}.primary_key`
}

export function renderTerraform(plan: ExportPlan): string {
  const slot = plan.app.slot
  const out: string[] = [
    `# Hybrid connections of ${plan.app.app}${slot ? ` (slot ${slot})` : ''}, written by hcctl export.`,
    '# The app must exist; the send key is the rule\'s primary_key (listKeys), never a literal.',
    '',
    'terraform {',
    '  required_providers {',
    '    azurerm = { source = "hashicorp/azurerm" }',
    '    azapi   = { source = "azure/azapi" }',
    '  }',
    '}',
    '',
    'variable "resource_group_name" {',
    `  type    = string`,
    `  default = ${hclString(plan.app.resourceGroup)}`,
    '}',
    '',
    'variable "app_name" {',
    '  type    = string',
    `  default = ${hclString(plan.app.app)}`,
    '}',
  ]
  if (slot) out.push('', 'variable "slot_name" {', '  type    = string', `  default = ${hclString(slot)}`, '}')
  out.push('', 'data "azurerm_client_config" "current" {}', '', 'locals {', `  app_id = "/subscriptions/\${data.azurerm_client_config.current.subscription_id}/resourceGroups/\${var.resource_group_name}/providers/Microsoft.Web/sites/\${var.app_name}${slot ? '/slots/${var.slot_name}' : ''}"`, '}')
  for (const n of plan.namespaces) {
    out.push('', `resource "azurerm_relay_namespace" "${nsSym(n.name)}" {`, `  name                = ${hclString(n.name)}`, `  location            = ${hclString(n.location)}`, '  resource_group_name = var.resource_group_name', '  sku_name            = "Standard"', '}')
  }
  for (const h of plan.hybridConnections) {
    out.push(
      '',
      `resource "azurerm_relay_hybrid_connection" "${hcSym(h.namespace, h.name)}" {`,
      `  name                          = ${hclString(h.name)}`,
      '  resource_group_name           = var.resource_group_name',
      `  relay_namespace_name          = azurerm_relay_namespace.${nsSym(h.namespace)}.name`,
      `  requires_client_authorization = ${h.requiresClientAuthorization}`,
      ...(h.userMetadata !== undefined ? [`  user_metadata                 = ${userMetadataHcl(h.userMetadata)}`] : []),
      '}',
    )
  }
  for (const r of plan.rules) {
    const flags = [`  listen = ${r.rights.includes('Listen') || r.rights.includes('Manage')}`, `  send   = ${r.rights.includes('Send') || r.rights.includes('Manage')}`, `  manage = ${r.rights.includes('Manage')}`]
    if (r.hybridConnection) {
      out.push(
        '',
        `resource "azurerm_relay_hybrid_connection_authorization_rule" "${ruleSym(r.namespace, r.hybridConnection, r.name)}" {`,
        `  name                   = ${hclString(r.name)}`,
        '  resource_group_name    = var.resource_group_name',
        `  namespace_name         = azurerm_relay_hybrid_connection.${hcSym(r.namespace, r.hybridConnection)}.relay_namespace_name`,
        `  hybrid_connection_name = azurerm_relay_hybrid_connection.${hcSym(r.namespace, r.hybridConnection)}.name`,
        ...flags,
        '}',
      )
    } else {
      out.push('', `resource "azurerm_relay_namespace_authorization_rule" "${ruleSym(r.namespace, undefined, r.name)}" {`, `  name                = ${hclString(r.name)}`, '  resource_group_name = var.resource_group_name', `  namespace_name      = azurerm_relay_namespace.${nsSym(r.namespace)}.name`, ...flags, '}')
    }
  }
  const rootRefs = new Set<string>()
  for (const r of plan.relays) {
    if (!ruleExported(plan, r) && !rootRefs.has(`${r.namespace}/${r.sendKeyName}`)) {
      rootRefs.add(`${r.namespace}/${r.sendKeyName}`)
      out.push('', `data "azurerm_relay_namespace_authorization_rule" "${ruleSym(r.namespace, undefined, r.sendKeyName)}" {`, `  name                = ${hclString(r.sendKeyName)}`, '  resource_group_name = var.resource_group_name', `  namespace_name      = azurerm_relay_namespace.${nsSym(r.namespace)}.name`, '}')
    }
    const type = slot ? 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays' : 'Microsoft.Web/sites/hybridConnectionNamespaces/relays'
    out.push(
      '',
      `resource "azapi_resource" "${appRelaySym(r)}" {`,
      `  type      = "${type}@${WEB_API}"`,
      `  name      = ${hclString(r.name)}`,
      `  parent_id = "\${local.app_id}/hybridConnectionNamespaces/${r.namespace}"`,
      '  body = {',
      '    properties = {',
      `      serviceBusNamespace = azurerm_relay_hybrid_connection.${hcSym(r.namespace, r.name)}.relay_namespace_name`,
      `      relayName           = azurerm_relay_hybrid_connection.${hcSym(r.namespace, r.name)}.name`,
      `      relayArmUri         = azurerm_relay_hybrid_connection.${hcSym(r.namespace, r.name)}.id`,
      `      hostname            = ${hclString(r.hostname)}`,
      `      port                = ${r.port}`,
      `      sendKeyName         = ${hclString(r.sendKeyName)}`,
      `      sendKeyValue        = ${keyExpr(plan, r)}`,
      `      serviceBusSuffix    = ${hclString(r.serviceBusSuffix)}`,
      '    }',
      '  }',
      '}',
    )
  }
  return out.join('\n') + '\n'
}
