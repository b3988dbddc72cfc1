import {UsageError} from '../errors.js'

/**
 * Relay and App Service naming rules (arm-surface.md §9), checked before any call so a typo
 * never becomes a half-made resource.
 */
interface Rule {
  what: string
  test: (name: string) => string | undefined
}

const NAMESPACE: Rule = {
  what: 'relay namespace',
  test(n) {
    if (n.length < 6 || n.length > 50) return `it has ${n.length} characters; a namespace name has 6 to 50`
    if (!/^[A-Za-z]/.test(n)) return 'it must start with a letter'
    if (!/[A-Za-z0-9]$/.test(n)) return 'it must end with a letter or a digit'
    if (!/^[A-Za-z0-9-]+$/.test(n)) return 'only letters, digits and hyphens are allowed'
    return undefined
  },
}

const HYBRID_CONNECTION: Rule = {
  what: 'hybrid connection',
  test(n) {
    if (n.includes('/')) return 'it contains "/", which App Service cannot address (the name is one segment of the app\'s resource path)'
    if (n.length < 1 || n.length > 260) return `it has ${n.length} characters; a hybrid connection name has 1 to 260`
    if (!/^[A-Za-z0-9._-]+$/.test(n)) return 'only letters, digits, periods, hyphens and underscores are allowed'
    if (!/^[A-Za-z0-9]/.test(n) || !/[A-Za-z0-9]$/.test(n)) return 'it must start and end with a letter or a digit'
    return undefined
  },
}

const AUTHORIZATION_RULE: Rule = {
  what: 'authorization rule',
  test(n) {
    if (n.length < 1 || n.length > 50) return `it has ${n.length} characters; a rule name has 1 to 50`
    if (!/^[A-Za-z0-9._-]+$/.test(n)) return 'only letters, digits, periods, hyphens and underscores are allowed'
    if (!/^[A-Za-z0-9]/.test(n) || !/[A-Za-z0-9]$/.test(n)) return 'it must start and end with a letter or a digit'
    return undefined
  },
}

const RESOURCE_GROUP: Rule = {
  what: 'resource group',
  test(n) {
    if (n.length < 1 || n.length > 90) return `it has ${n.length} characters; a resource group name has 1 to 90`
    if (!/^[-\w.()]+$/u.test(n)) return 'only letters, digits, underscores, hyphens, periods and parentheses are allowed'
    if (n.endsWith('.')) return 'it must not end with a period'
    return undefined
  },
}

/** Apps, slots and plans: we only refuse what can never be a path segment; ARM judges the rest. */
const WEB_NAME = (what: string): Rule => ({
  what,
  test(n) {
    if (n.length < 1 || n.length > 60) return `it has ${n.length} characters; at most 60 are allowed`
    if (/[/\\?#%\s]/.test(n)) return 'it contains a character that cannot be part of a resource path'
    return undefined
  },
})

function check(rule: Rule, name: string | undefined, flag: string): string {
  if (name === undefined || name === '') {
    throw new UsageError(`The ${rule.what} name is missing.`, {code: 'MissingName', suggestions: [`Pass ${flag}.`]})
  }
  const problem = rule.test(name)
  if (problem) {
    throw new UsageError(`The ${rule.what} name "${name.slice(0, 80)}" is invalid: ${problem}.`, {
      code: 'InvalidName',
      suggestions: [`Fix ${flag}; names are checked against the Azure naming rules before any call.`],
    })
  }
  return name
}

export const validateNamespaceName = (n: string | undefined, flag = '--namespace') => check(NAMESPACE, n, flag)
export const validateHybridConnectionName = (n: string | undefined, flag = 'the hybrid connection argument') => check(HYBRID_CONNECTION, n, flag)
export const validateRuleName = (n: string | undefined, flag = '--key-name') => check(AUTHORIZATION_RULE, n, flag)
export const validateResourceGroupName = (n: string | undefined, flag = '--resource-group') => check(RESOURCE_GROUP, n, flag)
export const validateAppName = (n: string | undefined, flag = '--app') => check(WEB_NAME('app'), n, flag)
export const validateSlotName = (n: string | undefined, flag = '--slot') => check(WEB_NAME('slot'), n, flag)
export const validatePlanName = (n: string | undefined, flag = '--plan') => check(WEB_NAME('App Service plan'), n, flag)

/** For property tests and callers that want a boolean. */
export const isValidNamespaceName = (n: string) => NAMESPACE.test(n) === undefined
export const isValidHybridConnectionName = (n: string) => HYBRID_CONNECTION.test(n) === undefined
