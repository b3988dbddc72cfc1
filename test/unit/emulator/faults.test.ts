import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {ArmFaultState, FaultSpecError, parseFaultSpec, RelayDoorFaults} from '../../../src/emulator/faults.js'

describe('emulator fault spec', () => {
  it('parses every documented item', () => {
    const spec = parseFaultSpec('arm.429=2, arm.retryAfter=5,arm.5xx=1,arm.502=1,arm.latency=1.5s,relay.dropListeners=ns/hc,relay.refuseRendezvous=503,relay.stallRendezvous=true,relay.expireTokensEarly=30')
    assert.deepEqual(spec.arm.statuses, [{status: 429, count: 2}, {status: 503, count: 1}, {status: 502, count: 1}])
    assert.equal(spec.arm.retryAfterSeconds, 5)
    assert.equal(spec.arm.latencyMs, 1500)
    assert.deepEqual(spec.dropListeners, {namespace: 'ns', name: 'hc'})
    assert.deepEqual(spec.relay, {refuseRendezvous: 503, stallRendezvous: true, expireTokensEarlySeconds: 30})
    assert.deepEqual(parseFaultSpec('relay.dropListeners=all').dropListeners, {})
    assert.equal(parseFaultSpec('arm.latency=200ms').arm.latencyMs, 200)
    assert.equal(parseFaultSpec('arm.latency=250').arm.latencyMs, 250)
    assert.equal(parseFaultSpec('reset').reset, true)
  })

  it('names what is wrong', () => {
    assert.throws(() => parseFaultSpec('arm.teapot=1'), /unknown fault "arm.teapot"/)
    assert.throws(() => parseFaultSpec('arm.429'), /not key=value/)
    assert.throws(() => parseFaultSpec('arm.429=x'), /whole number/)
    assert.throws(() => parseFaultSpec('arm.latency=soon'), /duration/)
    assert.throws(() => parseFaultSpec('relay.refuseRendezvous=200'), /400-599/)
    assert.throws(() => parseFaultSpec('relay.stallRendezvous=maybe'), /true or false/)
  })

  it('counters count down in order; reset clears', () => {
    const state = new ArmFaultState()
    state.apply(parseFaultSpec('arm.429=2,arm.500=1,arm.latency=10'))
    assert.deepEqual([state.take(), state.take(), state.take(), state.take()], [429, 429, 500, undefined])
    assert.equal(state.latencyMs, 10)
    state.apply(parseFaultSpec('reset'))
    assert.deepEqual(state.snapshot(), {queue: [], retryAfterSeconds: 1, latencyMs: 0})
  })

  it('arm.expireTokensEarly=S moves bearer-token expiry S seconds earlier; 0 or reset stops it', () => {
    const state = new ArmFaultState()
    state.apply(parseFaultSpec('arm.expireTokensEarly=3598'))
    assert.equal(state.expireTokensEarlySeconds, 3598)
    assert.equal(state.snapshot().expireTokensEarlySeconds, 3598)
    state.apply(parseFaultSpec('arm.expireTokensEarly=0'))
    assert.equal(state.snapshot().expireTokensEarlySeconds, undefined)
    state.apply(parseFaultSpec('arm.expireTokensEarly=5'))
    state.apply(parseFaultSpec('reset'))
    assert.equal(state.expireTokensEarlySeconds, 0)
    assert.throws(() => parseFaultSpec('arm.expireTokensEarly=-1'), /whole number/)
  })

  it('any input either parses or throws a FaultSpecError (property)', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 80}), (text) => {
        try {
          parseFaultSpec(text)
        } catch (error) {
          assert.ok(error instanceof FaultSpecError, String(error))
        }
      }),
      {numRuns: 500},
    )
  })

  it('relay front-door faults: refuse the next N listen upgrades, drop control channels on a timer', () => {
    const spec = parseFaultSpec('relay.failListen=2,relay.failListenStatus=502,relay.dropListenersEvery=2s,relay.dropListenersFor=10s')
    assert.deepEqual(spec.failListen, {count: 2, status: 502})
    assert.deepEqual(spec.dropListenersRepeat, {everyMs: 2000, forMs: 10_000})
    assert.throws(() => parseFaultSpec('relay.failListenStatus=404'), FaultSpecError)
    const door = new RelayDoorFaults(() => 0)
    door.apply(parseFaultSpec('relay.failListen=2'))
    assert.equal(door.refuseUpgrade('/$hc/hc1?sb-hc-action=connect'), undefined, 'senders pass')
    assert.equal(door.refuseUpgrade('/$hc/hc1?sb-hc-action=listen&sb-hc-id=1'), 503)
    assert.equal(door.refuseUpgrade('/$hc/hc1?sb-hc-action=listen'), 503)
    assert.equal(door.refuseUpgrade('/$hc/hc1?sb-hc-action=listen'), undefined, 'only the first two')
    assert.equal(door.counters.refusedListens, 2)
  })
})
