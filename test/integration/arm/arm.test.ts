import {strict as assert} from 'node:assert'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type CliResult, runCli} from '../../helpers/cli.js'
import {startConnectProxy} from '../../helpers/connect-proxy.js'
import {fakeJwt, type ScriptedServer, startScriptedServer} from '../../helpers/scripted-server.js'

const SUB = '11111111-2222-3333-4444-555555555555'
const TOKEN = fakeJwt({aud: 'https://management.scripted.test', exp: 4102444800, oid: 'object-id'})
const RG = `/subscriptions/${SUB}/resourceGroups/rg-hc`
const NS = `${RG}/providers/Microsoft.Relay/namespaces/contoso`
const KEY = 'c2VjcmV0LWtleS12YWx1ZS0xMjM0NTY3ODkwYWJjZGVm'

/** No token or key in anything the process wrote. */
function assertNoSecrets(r: CliResult) {
  for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    assert.ok(!text.includes(TOKEN), `${name} contains the token`)
    assert.ok(!text.includes(TOKEN.split('.')[1]!), `${name} contains the token payload`)
  }
}

describe('hcctl arm (real process against a scripted HTTPS server)', function () {
  this.timeout(30_000)
  let s: ScriptedServer
  const arm = (args: string[], options: {env?: NodeJS.ProcessEnv; input?: string} = {}) =>
    runCli(['arm', ...args, '--cloud', s.profilePath, '--subscription', SUB], {env: {HCCTL_ACCESS_TOKEN: TOKEN, ...options.env}, input: options.input})

  before(async () => {
    s = await startScriptedServer()
  })
  after(async () => {
    await s.close()
  })
  beforeEach(() => s.reset())

  it('GET: prints the body, sends bearer auth, a client request id and the URL api-version; fills {subscriptionId}', async () => {
    s.on(`GET ${NS}`, [{body: {id: NS, name: 'contoso', properties: {provisioningState: 'Succeeded'}}}])
    const r = await arm(['get', '/subscriptions/{subscriptionId}/resourceGroups/rg-hc/providers/Microsoft.Relay/namespaces/contoso?api-version=2021-11-01'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), {id: NS, name: 'contoso', properties: {provisioningState: 'Succeeded'}})
    assert.match(r.stdout, /\n {2}"name": "contoso"/, 'pretty for people')
    const [req] = s.seen(`GET ${NS}`)
    assert.equal(req!.headers.authorization, `Bearer ${TOKEN}`)
    assert.match(String(req!.headers['x-ms-client-request-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    assert.match(String(req!.headers['user-agent']), /^hcctl\/\d/)
    assert.equal(req!.query.get('api-version'), '2021-11-01')
    assertNoSecrets(r)
  })

  it('--json prints compact JSON; --query applies JMESPath to the body; --verbose logs redacted request lines', async () => {
    s.on(`GET ${RG}`, [{body: {name: 'rg-hc', location: 'westeurope', tags: {a: '1'}}}])
    const json = await arm(['get', `${RG}?api-version=2022-09-01`, '--json'])
    assert.equal(json.stdout, '{"name":"rg-hc","location":"westeurope","tags":{"a":"1"}}\n')
    const q = await arm(['get', `${RG}?api-version=2022-09-01`, '--query', 'location', '--verbose'])
    assert.equal(q.code, 0, q.stderr)
    assert.equal(q.json(), 'westeurope')
    const lines = q.stderr.trim().split('\n')
    assert.ok(lines.some((l) => l === `→ GET ${s.url}${RG}?api-version=2022-09-01`), q.stderr)
    assert.ok(lines.some((l) => new RegExp(`^← 200 GET ${s.url}${RG}\\?api-version=2022-09-01 \\d+ms srv-\\d+$`).test(l)), q.stderr)
    assertNoSecrets(q)
  })

  it('an absolute URL on the endpoint works; one elsewhere is refused before anything is sent (exit 2)', async () => {
    s.on(`GET ${RG}`, [{body: {name: 'rg-hc'}}])
    const ok = await arm(['get', `${s.url}${RG}?api-version=2022-09-01`, '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    const bad = await arm(['get', `https://example.invalid${RG}?api-version=2022-09-01`])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /not this cloud's ARM endpoint/)
    assert.equal(s.requests.length, 1)
  })

  it('a missing api-version is a usage error naming the version to use; nothing is sent', async () => {
    const r = await arm(['get', NS])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /The URL has no api-version/)
    assert.match(r.stderr, /api-version=2021-11-01/)
    assert.equal(s.requests.length, 0)
    s.on(`GET ${NS}`, [{body: {}}])
    const withFlag = await arm(['get', NS, '--api-version', '2017-04-01', '--json'])
    assert.equal(withFlag.code, 0, withFlag.stderr)
    assert.equal(s.requests[0]!.query.get('api-version'), '2017-04-01')
  })

  it('ARM error shape: 404 → exit 4 with code, message and request id (also as --json)', async () => {
    s.on(`GET ${NS}`, [{status: 404, headers: {'x-ms-request-id': 'req-404'}, body: {error: {code: 'ResourceNotFound', message: "The Resource 'Microsoft.Relay/namespaces/contoso' under resource group 'rg-hc' was not found."}}}])
    const r = await arm(['get', `${NS}?api-version=2021-11-01`])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /Error: The Resource 'Microsoft\.Relay\/namespaces\/contoso'.*was not found/)
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/)
    const j = await arm(['get', `${NS}?api-version=2021-11-01`, '--json'])
    assert.equal(j.code, 4)
    const e = j.json<{error: {code: string; exitCode: number; data: {status: number; requestId: string}}}>().error
    assert.equal(e.code, 'ResourceNotFound')
    assert.equal(e.exitCode, 4)
    assert.deepEqual(e.data, {status: 404, requestId: 'req-404'})
  })

  it('App Service error shape: 409 → exit 6; 401 → 5; 400 → 2', async () => {
    const site = `${RG}/providers/Microsoft.Web/sites/app/hybridConnectionNamespaces/contoso/relays/db`
    s.on(`PUT ${site}`, [
      {status: 409, body: {Code: 'Conflict', Message: 'Cannot modify this site because another operation is in progress.', Target: null, Details: [{ErrorEntity: {ExtendedCode: '04068', Code: 'Conflict', Message: 'x'}}], Innererror: null}},
      {status: 401, body: {error: {code: 'ExpiredAuthenticationToken', message: 'The access token expiry UTC time is earlier than current UTC time.'}}},
      {status: 400, body: {error: {code: 'InvalidRequestContent', message: 'The request content was invalid.'}}},
    ])
    const body = `{"properties": {"sendKeyName": "defaultSender", "sendKeyValue": "${KEY}"}}`
    const conflict = await arm(['put', `${site}?api-version=2025-05-01`, body])
    assert.equal(conflict.code, 6, conflict.stderr)
    assert.match(conflict.stderr, /another operation is in progress/)
    const unauthorized = await arm(['put', `${site}?api-version=2025-05-01`, body])
    assert.equal(unauthorized.code, 5)
    const bad = await arm(['put', `${site}?api-version=2025-05-01`, body, '--verbose', '--include'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^HTTP 400$/m)
    assert.equal(JSON.parse(s.requests[0]!.body).properties.sendKeyValue, KEY, 'the body is sent as given')
    for (const r of [conflict, unauthorized, bad]) {
      assertNoSecrets(r)
      assert.ok(!r.stderr.includes(KEY))
    }
  })

  it('429 with Retry-After: 1 is retried once after about a second, with the same client request id', async () => {
    s.on(`GET ${RG}`, [{status: 429, headers: {'retry-after': '1'}, body: {error: {code: 'SubscriptionRequestsThrottled', message: 'Number of read requests exceeded.'}}}, {body: {name: 'rg-hc'}}])
    const r = await arm(['get', `${RG}?api-version=2022-09-01`, '--json', '--verbose'])
    assert.equal(r.code, 0, r.stderr)
    const seen = s.seen(`GET ${RG}`)
    assert.equal(seen.length, 2)
    const gap = seen[1]!.at - seen[0]!.at
    assert.ok(gap >= 950 && gap < 3000, `gap ${gap}ms`)
    assert.equal(seen[0]!.headers['x-ms-client-request-id'], seen[1]!.headers['x-ms-client-request-id'])
    assert.match(r.stderr, /retrying in 1000ms after 429 \(Retry-After\)/)
  })

  it('503 then success: retried with backoff (no Retry-After); a POST action that is not safe is not retried', async () => {
    s.on(`GET ${RG}`, [{status: 503, body: 'Service Unavailable'}, {body: {name: 'rg-hc'}}])
    const r = await arm(['get', `${RG}?api-version=2022-09-01`, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const seen = s.seen(`GET ${RG}`)
    assert.equal(seen.length, 2)
    assert.ok(seen[1]!.at - seen[0]!.at < 2500, 'first backoff is at most 800 ms (+ noise on a loaded machine)')

    // restart is not safe to repeat (regenerateKeys is: a repeat gives the slot another fresh key).
    const restart = `${RG}/providers/Microsoft.Web/sites/web/restart`
    s.on(`POST ${restart}`, [{status: 503, body: {error: {code: 'ServiceUnavailable', message: 'try later'}}}])
    const post = await arm(['post', `${restart}?api-version=2024-11-01`, '{}'])
    assert.equal(post.code, 1)
    assert.equal(s.seen(`POST ${restart}`).length, 1)

    const list = `${NS}/hybridConnections/hc/authorizationRules/send/listKeys`
    s.on(`POST ${list}`, [{status: 503, body: ''}, {body: {keyName: 'send', primaryKey: KEY}}])
    const keys = await arm(['post', `${list}?api-version=2021-11-01`, '--json'])
    assert.equal(keys.code, 0, keys.stderr)
    assert.equal(s.seen(`POST ${list}`).length, 2, 'listKeys is safe to retry')
    assert.ok(keys.stdout.includes(KEY), 'the raw call prints what the user asked for')
  })

  it('a long-running operation: 202 + Location, then 202, then 200 is followed with --wait', async () => {
    const op = `/subscriptions/${SUB}/providers/Microsoft.Relay/locations/westeurope/operationResults/op1`
    s.on(`DELETE ${NS}`, [{status: 202, headers: {location: `${s.url}${op}?api-version=2021-11-01`, 'retry-after': '0'}}])
    s.on(`GET ${op}`, [{status: 202, headers: {location: `${s.url}${op}?api-version=2021-11-01`, 'retry-after': '0'}}, {status: 200, body: {status: 'Succeeded', name: 'op1'}}])
    const r = await arm(['delete', `${NS}?api-version=2021-11-01`, '--wait', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json(), {status: 'Succeeded', name: 'op1'})
    assert.equal(s.seen(`GET ${op}`).length, 2)
    assert.equal(s.seen(`GET ${op}`)[0]!.headers.authorization, `Bearer ${TOKEN}`)

    s.reset()
    s.on(`DELETE ${NS}`, [{status: 202, headers: {location: `${s.url}${op}?api-version=2021-11-01`}}])
    const noWait = await arm(['delete', `${NS}?api-version=2021-11-01`, '--include'])
    assert.equal(noWait.code, 0)
    assert.equal(noWait.stdout, '')
    assert.match(noWait.stderr, /^HTTP 202$/m)
    assert.match(noWait.stderr, /^location: https:\/\/127\.0\.0\.1/m)
    assert.equal(s.requests.length, 1)
  })

  it('three pages of nextLink are followed with --all', async () => {
    const list = `/subscriptions/${SUB}/providers/Microsoft.Relay/namespaces`
    s.on(`GET ${list}`, (req) => {
      const page = Number(req.query.get('page') ?? '1')
      const nextLink = page < 3 ? `${s.url}${list}?api-version=2021-11-01&page=${page + 1}` : null
      return {body: {value: [{name: `ns${page}a`}, {name: `ns${page}b`}], nextLink}}
    })
    const r = await arm(['get', `${list}?api-version=2021-11-01`, '--all', '--query', 'value[].name'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json(), ['ns1a', 'ns1b', 'ns2a', 'ns2b', 'ns3a', 'ns3b'])
    assert.deepEqual(s.requests.map((q) => q.query.get('page')), [null, '2', '3'])
    const one = await arm(['get', `${list}?api-version=2021-11-01`, '--json', '--query', 'length(value)'])
    assert.equal(one.json(), 2, 'without --all: the raw first page')
  })

  it('a slow answer past the timeout: retried once, then RequestTimeout (exit 1)', async () => {
    s.on(`GET ${RG}`, [{delayMs: 1500, body: {name: 'late'}}])
    const r = await arm(['get', `${RG}?api-version=2022-09-01`], {env: {HCCTL_HTTP_TIMEOUT: '0.3', HCCTL_MAX_RETRIES: '1'}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /No answer from https:\/\/127\.0\.0\.1:\d+ within the timeout/)
    assert.equal(s.seen(`GET ${RG}`).length, 2)
  })

  it('invalid JSON in a 200 answer is a clear error (exit 1), not a stack trace', async () => {
    s.on(`GET ${RG}`, [{body: '{"name": "rg-hc",'}])
    const r = await arm(['get', `${RG}?api-version=2022-09-01`])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /with invalid JSON/)
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/)
  })

  it('bodies: literal, @file, - (stdin); a broken file is exit 2 with the position and nothing is sent', async () => {
    s.on(`PUT ${RG}`, (req) => ({body: {echo: JSON.parse(req.body)}}))
    const literal = await arm(['put', `${RG}?api-version=2022-09-01`, '{"location":"westeurope"}', '--json'])
    assert.deepEqual(literal.json(), {echo: {location: 'westeurope'}})
    const file = join(s.dir, 'body.json')
    writeFileSync(file, '\uFEFF{\n  "location": "northeurope"\n}\n')
    const fromFile = await arm(['put', `${RG}?api-version=2022-09-01`, `@${file}`, '--json'])
    assert.deepEqual(fromFile.json(), {echo: {location: 'northeurope'}})
    const fromStdin = await arm(['put', `${RG}?api-version=2022-09-01`, '-', '--json'], {input: '{"location": "eastus"}'})
    assert.deepEqual(fromStdin.json(), {echo: {location: 'eastus'}})
    assert.equal(s.seen(`PUT ${RG}`)[0]!.headers['content-type'], 'application/json')
    const sent = s.requests.length

    const broken = join(s.dir, 'broken.json')
    writeFileSync(broken, '{\n  "location": "westeurope",\n}\n')
    const bad = await arm(['put', `${RG}?api-version=2022-09-01`, `@${broken}`])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /broken\.json is not valid JSON at line 3, column 1/)
    const missing = await arm(['put', `${RG}?api-version=2022-09-01`, '@/nonexistent/body.json'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /Cannot read the body file/)
    const notJson = await arm(['put', `${RG}?api-version=2022-09-01`, 'location=westeurope'])
    assert.equal(notJson.code, 2)
    assert.match(notJson.stderr, /prefix its path with @/)
    assert.equal(s.requests.length, sent, 'nothing sent for a broken body')
  })

  it('-H headers are sent; a malformed one is exit 2', async () => {
    s.on(`PATCH ${RG}`, [{body: {}}])
    const r = await arm(['patch', `${RG}?api-version=2022-09-01`, '{"tags":{}}', '-H', 'If-Match: *', '--header', 'x-ms-test: yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(s.requests[0]!.headers['if-match'], '*')
    assert.equal(s.requests[0]!.headers['x-ms-test'], 'yes')
    const bad = await arm(['patch', `${RG}?api-version=2022-09-01`, '{}', '-H', 'no colon here'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /expected "Name: value"/)
  })

  it('the cloud CA is trusted only through the profile: without caPath the TLS check fails (exit 1)', async () => {
    const profile = join(s.dir, 'no-ca.json')
    writeFileSync(profile, JSON.stringify({name: 'noca', armEndpoint: s.url}))
    s.on(`GET ${RG}`, [{body: {}}])
    const r = await runCli(['arm', 'get', `${RG}?api-version=2022-09-01`, '--cloud', profile], {env: {HCCTL_ACCESS_TOKEN: TOKEN}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed/)
    assert.equal(s.requests.length, 0)
  })

  it('no subscription anywhere: exit 2 naming the three ways; the Azure CLI default (with BOM) is used when present', async () => {
    const noSub = await runCli(['arm', 'get', `/subscriptions/{subscriptionId}/resourceGroups?api-version=2022-09-01`, '--cloud', s.profilePath], {
      env: {HCCTL_ACCESS_TOKEN: TOKEN, AZURE_CONFIG_DIR: join(s.dir, 'nothing-here'), HOME: s.dir},
    })
    assert.equal(noSub.code, 2)
    assert.match(noSub.stderr, /No subscription/)
    assert.match(noSub.stderr, /--subscription/)
    assert.match(noSub.stderr, /AZURE_SUBSCRIPTION_ID/)
    assert.match(noSub.stderr, /az account set/)

    writeFileSync(join(s.dir, 'azureProfile.json'), '\uFEFF' + JSON.stringify({subscriptions: [{id: 'cli-default-sub', name: 'Dev', isDefault: true, environmentName: 'AzureCloud'}]}))
    s.on('GET /subscriptions/cli-default-sub/resourceGroups', [{body: {value: []}}])
    const cli = await runCli(['arm', 'get', `/subscriptions/{subscriptionId}/resourceGroups?api-version=2022-09-01`, '--cloud', s.profilePath, '--json'], {
      env: {HCCTL_ACCESS_TOKEN: TOKEN, AZURE_CONFIG_DIR: s.dir},
    })
    assert.equal(cli.code, 0, cli.stderr)
    assert.deepEqual(cli.json(), {value: []})
  })

  it('HTTPS_PROXY is honoured (CONNECT through a local proxy) and NO_PROXY bypasses it', async () => {
    const proxy = await startConnectProxy()
    const {url: proxyUrl, tunnels: connects} = proxy
    try {
      s.on(`GET ${RG}`, [{body: {name: 'rg-hc'}}])
      const via = await arm(['get', `${RG}?api-version=2022-09-01`, '--json'], {env: {HTTPS_PROXY: proxyUrl, HCCTL_PROXY_LOOPBACK: '1'}})
      assert.equal(via.code, 0, via.stderr)
      assert.deepEqual(connects, [`127.0.0.1:${s.port}`])
      const bypass = await arm(['get', `${RG}?api-version=2022-09-01`, '--json'], {env: {HTTPS_PROXY: proxyUrl, HCCTL_PROXY_LOOPBACK: '1', NO_PROXY: '127.0.0.1'}})
      assert.equal(bypass.code, 0, bypass.stderr)
      const loopback = await arm(['get', `${RG}?api-version=2022-09-01`, '--json'], {env: {HTTPS_PROXY: proxyUrl}})
      assert.equal(loopback.code, 0, loopback.stderr)
      assert.equal(connects.length, 1, 'NO_PROXY and loopback went direct')
    } finally {
      await proxy.close()
    }
  })
})
