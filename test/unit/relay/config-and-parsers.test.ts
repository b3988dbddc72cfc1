import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {isHcctlError} from '../../../src/lib/errors.js'
import {parseListenAddress} from '../../../src/cli/flags.js'
import {parseDuration} from '../../../src/lib/duration.js'
import {loadAgentConfig, parseDurationSeconds} from '../../../src/lib/relay/agent-config.js'
import {credentialsFromConnectionString} from '../../../src/lib/relay/credentials.js'
import {endpointFromMetadata, readHostPort} from '../../../src/lib/relay/endpoint.js'
import {formatLogRecord, record} from '../../../src/lib/relay/log.js'
import {parseRuntimeDescription} from '../../../src/lib/relay/management.js'
import {renderMetrics} from '../../../src/lib/relay/metrics.js'
import {parseSasToken} from '../../../src/lib/relay/sas.js'

const KEY = 'S3cr3tKeyValue0123456789abcdefABCDEF+/xyz='
const CS = (entity = 'hc1', ns = 'contoso') => `Endpoint=sb://${ns}.servicebus.windows.net/;SharedAccessKeyName=defaultListener;SharedAccessKey=${KEY};EntityPath=${entity}`

async function usageError(p: Promise<unknown> | (() => unknown)): Promise<{message: string; code: string; exitCode: number; suggestions: string[]}> {
  try {
    if (typeof p === 'function') p()
    else await p
  } catch (e) {
    assert.ok(isHcctlError(e), `expected an HcctlError, got ${e}`)
    assert.equal(e.exitCode, 2)
    assert.doesNotMatch(e.message + e.suggestions.join(' '), new RegExp(KEY.slice(0, 12)))
    return e
  }
  assert.fail('expected a usage error')
}

describe('agent configuration', () => {
  it('merges --connection-string, the environment list and agent.yaml', async () => {
    const yaml = `
hybridConnections:
  - connectionString: "${CS('hc3')}"
  - connectionStringEnv: HC4_CS
  - connectionStringFile: /secrets/hc5
  - name: hc6
    namespace: contoso
    resourceGroup: rg
health: 9090
logFormat: json
drainTimeout: 45s
connectTimeout: 500ms
tokenTtl: 5
`
    const files: Record<string, string> = {'/etc/agent.yaml': yaml, '/secrets/hc5': CS('hc5') + '\n'}
    const c = await loadAgentConfig({
      connectionStrings: [CS('hc1')],
      envConnectionStrings: `${CS('hc2')}\n`,
      configFile: '/etc/agent.yaml',
      env: {HC4_CS: CS('hc4')},
      readFile: (p) => {
        if (!(p in files)) throw Object.assign(new Error('nope'), {code: 'ENOENT'})
        return files[p]!
      },
    })
    assert.deepEqual(
      c.hybridConnections.map((h) => (h.kind === 'arm' ? `arm:${h.name}` : h.connectionString.entityPath)),
      ['hc1', 'hc2', 'hc3', 'hc4', 'hc5', 'arm:hc6'],
    )
    assert.equal(c.health, '9090')
    assert.equal(c.logFormat, 'json')
    assert.equal(c.drainTimeoutSeconds, 45)
    assert.equal(c.connectTimeoutSeconds, 0.5)
    assert.equal(c.tokenTtlSeconds, 5)
  })

  it('rejects bad input naming the source and the bad part, never the key', async () => {
    let e = await usageError(loadAgentConfig({}))
    assert.equal(e.code, 'NoHybridConnections')
    e = await usageError(loadAgentConfig({connectionStrings: [CS('a'), CS('b').replace('SharedAccessKeyName', 'SharedAccessKeyNam')]}))
    assert.match(e.message, /--connection-string #2/)
    assert.match(e.message, /unknown key "SharedAccessKeyNam"/)
    e = await usageError(loadAgentConfig({connectionStrings: [CS('a').replace(';EntityPath=a', '')]}))
    assert.match(e.message, /EntityPath/)
    e = await usageError(loadAgentConfig({connectionStrings: [CS('a'), CS('A')]}))
    assert.match(e.message, /twice/)
    e = await usageError(loadAgentConfig({envConnectionStrings: 'Endpoint=nonsense;SharedAccessKeyName=x;SharedAccessKey=' + KEY}))
    assert.match(e.message, /HCCTL_AGENT_CONNECTION_STRINGS entry #1.*Endpoint/)
    const read = (files: Record<string, string>) => (p: string) => {
      if (!(p in files)) throw Object.assign(new Error('nope'), {code: 'ENOENT'})
      return files[p]!
    }
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({})}))
    assert.match(e.message, /Cannot read .*ENOENT/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({'/a.yaml': 'hybridConnections: [\n'})}))
    assert.match(e.message, /not valid YAML/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({'/a.yaml': 'hybridConnection: []'})}))
    assert.match(e.message, /unknown key "hybridConnection"/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({'/a.yaml': `hybridConnections:\n  - connectionString: "${CS()}"\n    name: x\n`})}))
    assert.match(e.message, /hybridConnections\[0\] needs exactly one/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', env: {}, readFile: read({'/a.yaml': 'hybridConnections:\n  - connectionStringEnv: MISSING\n'})}))
    assert.match(e.message, /MISSING, which is not set/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({'/a.yaml': `hybridConnections:\n  - connectionString: "${CS()}"\ndrainTimeout: soon\n`})}))
    assert.match(e.message, /"drainTimeout" must be/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({'/a.yaml': `hybridConnections:\n  - connectionString: "${CS().replace('SharedAccessKey=', 'SharedAccessKey=')};Bogus=1"\n`})}))
    assert.match(e.message, /hybridConnections\[0\].*unknown key "Bogus"/)
    e = await usageError(loadAgentConfig({configFile: '/a.yaml', readFile: read({'/a.yaml': `hybridConnections:\n  - connectionString: "${CS()}"\nhealth: 1\nHealth: 2\n`})}))
    assert.match(e.message, /"Health" is given twice/)
  })

  it('reads agent.yaml\'s key names in any case, as Azure reads property names', async () => {
    const yaml = `HybridConnections:\n  - ConnectionString: "${CS('hc1')}"\n  - NAME: hc2\n    namespace: contoso-relay\n    ResourceGroup: onprem-rg\nhealth: 9090\nLogFormat: json\ndrainTIMEOUT: 5\n`
    const c = await loadAgentConfig({configFile: '/a.yaml', readFile: () => yaml})
    assert.deepEqual(c.hybridConnections.map((h) => (h.kind === 'arm' ? `${h.namespace}/${h.name}@${h.resourceGroup}` : h.connectionString.entityPath)), ['hc1', 'contoso-relay/hc2@onprem-rg'])
    assert.equal(c.logFormat, 'json')
    assert.equal(c.drainTimeoutSeconds, 5)
    assert.equal(c.health, '9090')
  })

  it('durations, addresses and flags', async () => {
    assert.equal(parseDurationSeconds('30'), 30)
    assert.equal(parseDurationSeconds('2m'), 120)
    assert.equal(parseDurationSeconds('250ms'), 0.25)
    assert.ok(Number.isNaN(parseDurationSeconds('-1')))
    assert.deepEqual(parseListenAddress('9090', '--health'), {host: '127.0.0.1', port: 9090})
    assert.deepEqual(parseListenAddress('0.0.0.0:80', '--health'), {host: '0.0.0.0', port: 80})
    assert.deepEqual(parseListenAddress('[::1]:80', '--health'), {host: '::1', port: 80})
    assert.deepEqual(parseListenAddress(':81', '--local'), {host: '127.0.0.1', port: 81})
    assert.deepEqual(parseListenAddress('127.0.0.1:0', '--local'), {host: '127.0.0.1', port: 0})
    let e = await usageError(() => parseListenAddress('localhost:http', '--local'))
    assert.match(e.message, /--local/)
    e = await usageError(() => parseDuration('abc', {name: '--drain-timeout'}))
    assert.match(e.message, /--drain-timeout "abc" is not a duration/)
    e = await usageError(() => parseDuration('1s', {name: '--token-ttl', minMs: 2000}))
    assert.match(e.message, /--token-ttl "1s" is too short: at least 2s/)
  })

  it('credentials from a connection string sign tokens for http://host/entity', () => {
    const c = credentialsFromConnectionString(CS('hc1'))
    const t = parseSasToken(c.token(60))
    assert.equal(decodeURIComponent(t.sr), 'http://contoso.servicebus.windows.net/hc1')
    assert.equal(t.skn, 'defaultListener')
    assert.ok(t.se - Date.now() / 1000 <= 61)
  })
})

describe('endpoint metadata', () => {
  it('reads the endpoint item, key case-insensitively', () => {
    assert.deepEqual(endpointFromMetadata('[{"key":"endpoint","value":"db01:1433"}]'), {host: 'db01', port: 1433})
    assert.deepEqual(endpointFromMetadata('[{"key":"other","value":"x"},{"key":"Endpoint","value":"db.corp.local:80"}]'), {host: 'db.corp.local', port: 80})
  })

  it("names what is wrong (the same reader provisioning and check use)", () => {
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /no userMetadata/],
      ['nope', /not JSON/],
      ['{"key":"endpoint"}', /not a JSON list/],
      ['[]', /no "endpoint"/],
      ['[{"key":"endpoint","value":"a:1"},{"key":"endpoint","value":"b:2"}]', /2 "endpoint" items/],
      ['[{"key":"endpoint","value":5}]', /port is missing/],
      ['[{"key":"endpoint","value":"db01"}]', /port is missing/],
      ['[{"key":"endpoint","value":"db01:70000"}]', /outside 1-65535/],
      ['[{"key":"endpoint","value":"db 01:80"}]', /not a valid DNS name/],
    ]
    for (const [input, re] of cases) {
      assert.throws(() => endpointFromMetadata(input), (e: Error & {code?: string}) => re.test(e.message) && e.code === 'InvalidEndpointMetadata', String(input))
    }
  })

  it('property: any host:port it accepts round-trips, anything else is a typed error (never a crash)', () => {
    fc.assert(
      fc.property(fc.domain(), fc.integer({min: 1, max: 65535}), (host, port) => {
        assert.deepEqual(readHostPort(`${host}:${port}`), {ok: true, endpoint: {host, port}})
      }),
    )
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          endpointFromMetadata(s)
        } catch (e) {
          assert.equal((e as {code?: string}).code, 'InvalidEndpointMetadata')
        }
      }),
    )
  })
})

describe('host:port, one reader', () => {
  it('tcpping, --endpoint and the endpoint metadata accept and reject the same texts (property)', async () => {
    const {parseHostPort} = await import('../../../src/lib/diagnose/tcpping.js')
    const {parseEndpoint} = await import('../../../src/lib/hybrid/endpoint.js')
    const accepts = (f: () => unknown) => {
      try {
        return JSON.stringify(f())
      } catch (error) {
        assert.equal((error as {exitCode?: number}).exitCode, 2)
        return 'rejected'
      }
    }
    // The text readers (--endpoint, files, metadata) trim first; the tcpping argument is taken as given.
    const texts = fc.oneof(fc.string().map((t) => t.trim()), fc.tuple(fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`), fc.constant('')), fc.integer({min: -1, max: 70000})).map(([h, p]) => `${h}:${p}`))
    fc.assert(
      fc.property(texts, (text) => {
        const asProbe = accepts(() => parseHostPort(text))
        assert.equal(accepts(() => parseEndpoint(text)), asProbe, text)
        assert.equal(accepts(() => endpointFromMetadata(JSON.stringify([{key: 'endpoint', value: text}]))), asProbe, text)
      }),
    )
  })

  it('listen addresses alone take a bare port and port 0', () => {
    assert.deepEqual(readHostPort('9090', {defaultHost: '127.0.0.1'}), {ok: true, endpoint: {host: '127.0.0.1', port: 9090}})
    assert.equal(readHostPort('9090').ok, false)
    assert.equal(readHostPort('db:0').ok, false)
    assert.deepEqual(readHostPort('db:0', {allowPortZero: true}), {ok: true, endpoint: {host: 'db', port: 0}})
  })
})

describe('runtime management description (Atom)', () => {
  it('parses the HybridConnectionDescription and unescapes the metadata', () => {
    const xml = `<entry xmlns="http://www.w3.org/2005/Atom"><id>x</id><content type="application/xml"><HybridConnectionDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><CreatedAt>2025-01-01T00:00:00Z</CreatedAt><UpdatedAt>2025-01-02T00:00:00Z</UpdatedAt><RequiresClientAuthorization>true</RequiresClientAuthorization><UserMetadata>[{&quot;key&quot;:&quot;endpoint&quot;,&quot;value&quot;:&quot;db01:1433&quot;}]</UserMetadata><ListenerCount>2</ListenerCount></HybridConnectionDescription></content></entry>`
    const d = parseRuntimeDescription(xml)
    assert.deepEqual(d, {
      requiresClientAuthorization: true,
      userMetadata: '[{"key":"endpoint","value":"db01:1433"}]',
      listenerCount: 2,
      createdAt: '2025-01-01T00:00:00Z',
      updatedAt: '2025-01-02T00:00:00Z',
    })
    assert.deepEqual(endpointFromMetadata(d.userMetadata), {host: 'db01', port: 1433})
  })

  it('property: arbitrary text never throws', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseRuntimeDescription(s)))
  })
})

describe('log lines and metrics', () => {
  it('formats text and JSON lines, redacting secrets', () => {
    const r = record('warn', 'connection', {hc: 'ns/hc1', status: 502, error: `boom SharedAccessKey=${KEY}`, bytes: 10})
    const text = formatLogRecord(r, 'text')
    assert.match(text, /^\S+ WARN +connection hc=ns\/hc1 status=502 error="boom SharedAccessKey=\*\*\*" bytes=10$/)
    const json = JSON.parse(formatLogRecord(r, 'json'))
    assert.equal(json.event, 'connection')
    assert.equal(json.status, 502)
    assert.doesNotMatch(formatLogRecord(r, 'json'), new RegExp(KEY.slice(0, 10)))
  })

  it('renders Prometheus text with escaped labels', () => {
    const out = renderMetrics([{name: 'x_total', help: 'X.', type: 'counter', samples: [{labels: {hc: 'a"b'}, value: 3}, {value: 1}]}])
    assert.equal(out, '# HELP x_total X.\n# TYPE x_total counter\nx_total{hc="a\\"b"} 3\nx_total 1\n')
  })
})

describe('deploy recipes', () => {
  it('deploy/agent.example.yaml is a valid agent config', async () => {
    const {readFileSync} = await import('node:fs')
    const c = await loadAgentConfig({
      configFile: 'deploy/agent.example.yaml',
      env: {HC_FILES01_CONNECTION_STRING: CS('files01')},
      readFile: (p) => (p === '/run/secrets/hc-web01' ? CS('web01') : readFileSync(p, 'utf8')),
    })
    assert.equal(c.hybridConnections.length, 4)
    assert.equal(c.drainTimeoutSeconds, 30)
  })

  it('the Kubernetes recipe runs two replicas with the connection strings from a Secret and drains on SIGTERM', async () => {
    const {readFileSync} = await import('node:fs')
    const {parseAllDocuments} = await import('yaml')
    const docs = parseAllDocuments(readFileSync('deploy/kubernetes/agent.yaml', 'utf8')).map((d) => d.toJS())
    const deployment = docs.find((d) => d.kind === 'Deployment')
    const secret = docs.find((d) => d.kind === 'Secret')
    assert.equal(deployment.spec.replicas, 2)
    const env = deployment.spec.template.spec.containers[0].env
    assert.equal(env.find((e: {name: string}) => e.name === 'HCCTL_AGENT_CONNECTION_STRINGS').valueFrom.secretKeyRef.name, secret.metadata.name)
    assert.ok(deployment.spec.template.spec.terminationGracePeriodSeconds > 30)
    assert.ok(docs.some((d) => d.kind === 'PodDisruptionBudget'))
  })
})
