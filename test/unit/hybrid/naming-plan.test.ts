import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {isValidHybridConnectionName, isValidNamespaceName, validateHybridConnectionName, validateNamespaceName} from '../../../src/lib/hybrid/naming.js'
import {decideLimit, tierFromSkuName, tierRule} from '../../../src/lib/hybrid/plan.js'

describe('hybrid/naming', () => {
  it('applies the namespace rules (6-50, starts with a letter, ends alphanumeric)', () => {
    assert.equal(isValidNamespaceName('contoso-relay'), true)
    for (const bad of ['short', '1contoso', 'contoso-', 'con_toso', 'x'.repeat(51)]) assert.equal(isValidNamespaceName(bad), false, bad)
    assert.throws(() => validateNamespaceName('1abcdef'), (e: Error & {exitCode: number}) => /start with a letter/.test(e.message) && e.exitCode === 2)
  })

  it('refuses "/" in hybrid connection names because App Service cannot address it', () => {
    assert.throws(() => validateHybridConnectionName('a/b'), /App Service cannot address/)
    assert.equal(isValidHybridConnectionName('onprem.sql_1-x'), true)
    assert.equal(isValidHybridConnectionName('-x'), false)
  })

  it('agrees with the derived namespace regex (property)', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 60}), (s) => {
        assert.equal(isValidNamespaceName(s), /^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$/.test(s))
      }),
      {numRuns: 1000},
    )
  })
})

describe('hybrid/plan', () => {
  it('knows the eligible tiers and their limits', () => {
    for (const t of ['Free', 'Shared', 'Dynamic', 'FlexConsumption', 'consumption']) assert.equal(tierRule(t).eligible, false, t)
    assert.deepEqual(tierRule('BASIC'), {tier: 'BASIC', eligible: true, scope: 'plan', maximum: 5})
    assert.equal(tierRule('Standard').maximum, 25)
    assert.deepEqual([tierRule('PremiumV3').scope, tierRule('PremiumV3').maximum], ['app', 220])
    assert.equal(tierRule('IsolatedV2').scope, 'app')
    assert.equal(tierFromSkuName('B1'), 'Basic')
    assert.equal(tierFromSkuName('P1V3'), 'PremiumV3')
    assert.equal(tierFromSkuName('Y1'), 'Dynamic')
  })

  it('counts a relay used by several apps once', () => {
    const counted = ['ns/a', 'ns/a', 'ns/b', 'NS/C', 'ns/d', 'ns/e']
    assert.deepEqual(decideLimit('ns/a', counted, 5, 'plan'), {ok: true, alreadyCounted: true, current: 5, maximum: 5, scope: 'plan'})
    assert.equal(decideLimit('ns/f', counted, 5, 'plan').ok, false)
    assert.equal(decideLimit('ns/c', counted, 5, 'plan').alreadyCounted, true)
    assert.equal(decideLimit('ns/f', ['ns/a'], 5, 'plan').current, 1)
  })
})
