import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {parseListenAddress} from '../../src/cli/flags.js'
import {parseHeaderArgs, parseJson} from '../../src/lib/azure/arm-call.js'
import {parseResourceId, tryParseHybridConnectionId} from '../../src/lib/azure/resource-id.js'
import {formatDuration, parseDuration} from '../../src/lib/duration.js'
import {isHcctlError} from '../../src/lib/errors.js'
import {parseEndpoint} from '../../src/lib/hybrid/endpoint.js'
import {validateQuery} from '../../src/lib/output/query.js'
import {loadAgentConfig} from '../../src/lib/relay/agent-config.js'
import {parseConnectionString} from '../../src/lib/relay/connection-string.js'
import {endpointFromMetadata, parseEndpointMetadata, readHostPort} from '../../src/lib/relay/endpoint.js'
import {FrameReader, parseClosePayload} from '../../src/lib/relay/frames.js'
import {parseListenerMessage, parseServiceMessage} from '../../src/lib/relay/protocol.js'
import {parseSasToken} from '../../src/lib/relay/sas.js'
import {count} from './helpers.js'

/**
 * Every parser of outside input, fed fast-check's strings (fixed seed, ≥ 1,000 runs each):
 * it returns a value or throws hcctl's typed error (a usage error, exit 2, or its documented
 * code); never a TypeError, a RangeError or a hang. Protocol parsers may throw, but only Errors.
 */
const SEED = 20261205
const RUNS = Math.max(1000, Number(process.env.HCCTL_REL_PROPERTY_RUNS ?? '1000'))
let total = 0

/** Strings that look a bit like the real thing, and arbitrary ones (unicode, control characters). */
function near(...pieces: string[]): fc.Arbitrary<string> {
  const piece = fc.oneof(fc.constantFrom(...pieces), fc.string({maxLength: 12}), fc.string({unit: 'grapheme', maxLength: 8}))
  return fc.oneof(fc.array(piece, {maxLength: 8}).map((a) => a.join('')), fc.string({unit: 'binary', maxLength: 300}))
}

function typedOnly(name: string, arb: fc.Arbitrary<string>, parse: (s: string) => unknown, allowed: (e: unknown) => boolean = isHcctlError): void {
  it(`${name}: returns or throws a typed error (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(arb, async (s) => {
        try {
          await parse(s)
        } catch (error) {
          if (!allowed(error)) throw new Error(`${name}(${JSON.stringify(s).slice(0, 80)}) threw ${(error as Error)?.name}: ${(error as Error)?.message}`)
          if (isHcctlError(error)) assert.ok(!/\n\s+at /.test(error.message), 'a one-line message')
        }
      }),
      {seed: SEED, numRuns: RUNS},
    )
    total += RUNS
  })
}

describe('reliability: parsers of outside input survive anything (property-based)', function () {
  this.timeout(120_000)
  after(() => count(`properties: ${total} generated inputs over ${total / RUNS} properties (seed ${SEED}), 0 crashes`))

  typedOnly('connection string', near('Endpoint=sb://', 'ns.servicebus.windows.net/', ';', '=', 'SharedAccessKeyName=', 'SharedAccessKey=', 'EntityPath=', 'SharedAccessSignature=', '"', 'OperationTimeout='), parseConnectionString)
  typedOnly('SAS token', near('SharedAccessSignature ', 'sr=', 'sig=', 'se=', 'skn=', '&', '%', 'http%3a%2f%2f'), parseSasToken)
  typedOnly('duration', near('1', '0.5', 'ms', 's', 'm', 'h', '.', ' ', '-', 'e9', '99999999999999999999'), (s) => parseDuration(s, {name: '--timeout'}))
  typedOnly('listen address', near('127.0.0.1', ':', '[', ']', '::1', '65536', '0', '9090'), (s) => parseListenAddress(s, '--local'))
  typedOnly('host:port (relay)', near('db01', ':', '[', ']', '::1', '65536', '1433', '.corp'), (s) => readHostPort(s))
  typedOnly('endpoint (provisioning)', near('db01', ':', '[', ']', '::1', '65536', '1433', '.corp', 'localhost'), (s) => parseEndpoint(s))
  typedOnly('userMetadata (reader)', near('[{"key":"endpoint","value":"', 'db:1', '"}]', '{', '}', 'null', ','), parseEndpointMetadata)
  typedOnly('userMetadata (endpoint)', near('[{"key":"endpoint","value":"', 'db:1', '"}]', '{', '}', 'null', ','), endpointFromMetadata)
  typedOnly('resource id', near('/subscriptions/', '00000000-0000-0000-0000-000000000000', '/resourceGroups/', 'rg', '/providers/', 'Microsoft.Relay', '/namespaces/', '/hybridConnections/', '//'), (s) => parseResourceId(s))
  typedOnly('relay id (lenient)', near('/subscriptions/', 'x', '/resourceGroups/', 'rg', '/providers/Microsoft.Relay/namespaces/', 'ns', '/hybridConnections/', 'hc'), tryParseHybridConnectionId)
  typedOnly('JSON body file', near('{', '}', '"a":', '1', '[', ']', 'null', ',', '\u0000'), (s) => parseJson(s, '--body'))
  typedOnly('--header arguments', near('Name', ':', ' value', '\n', '='), (s) => parseHeaderArgs(s.split('|')))
  typedOnly('--query expression', near('value', '[', ']', '.', '?', '`', '@', '|', '&&', 'length(', ')'), (s) => validateQuery(s))
  typedOnly('agent config file', near('hybridConnections:\n', '  - ', 'connectionString: ', 'name: hc\n', 'namespace: ns\n', 'drainTimeout: ', '30s', '\n', ': ', '{', '[', '&a', '*a', '!!binary'), (s) =>
    loadAgentConfig({configFile: '/agent.yaml', readFile: () => s, env: {}}),
  )
  typedOnly('listener control message', near('{"accept":', '{"request":', '{"renewToken":', '"address":', '"id":', '}', 'null'), parseListenerMessage, (e) => e instanceof Error)
  typedOnly('service message', near('{"accept":', '{"request":', '"address":', '"id":', '}', 'null'), parseServiceMessage, (e) => e instanceof Error)

  it(`relay frames: random bytes, split anywhere, never crash the frame reader (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 64}), fc.boolean(), fc.nat({max: 64}), (bytes, fromClient, cut) => {
        const b = Buffer.from(bytes)
        try {
          const reader = new FrameReader(fromClient, {onPayload: () => {}, onControl: () => {}, onError: () => {}})
          reader.push(Buffer.from(b.subarray(0, cut)))
          reader.push(Buffer.from(b.subarray(cut)))
          assert.ok(['info', 'length16', 'length64', 'mask', 'payload', 'control', 'stopped', 'failed'].includes(reader.state))
          parseClosePayload(b)
        } catch (error) {
          if (!(error instanceof Error)) throw error
        }
      }),
      {seed: SEED, numRuns: RUNS},
    )
    total += RUNS
  })

  it(`durations round-trip through formatDuration (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: 24 * 3_600_000}), (ms) => assert.equal(parseDuration(formatDuration(ms)), ms)),
      {seed: SEED, numRuns: RUNS},
    )
    total += RUNS
  })
})
