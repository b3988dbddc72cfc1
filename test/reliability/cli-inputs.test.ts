import {strict as assert} from 'node:assert'

import {type CliResult, runCli} from '../helpers/cli.js'
import {count} from './helpers.js'

/**
 * Hand-written nasty inputs, each run through the CLI as a process: wrong types, unicode,
 * 300-character names, names Azure would refuse, negative and huge numbers, garbage
 * environment variables. Each exits with its documented code (2 unless said) with a one-line
 * message and no stack trace, also under --json. No emulator is needed: every one is refused
 * before any call.
 */
interface Case {
  name: string
  args: string[]
  env?: NodeJS.ProcessEnv
  code?: number
  message: RegExp
  /** The flag implies JSON output (--query): the error is JSON on stdout even without --json. */
  jsonOnly?: boolean
}

const LONG = 'a'.repeat(300)
const CASES: Case[] = [
  {name: 'unknown command', args: ['lst'], message: /"lst" is not an? hcctl command/},
  {name: 'unknown subcommand', args: ['relay', 'tst'], message: /"relay tst" is not an? hcctl command/},
  {name: 'unknown flag', args: ['tcpping', '127.0.0.1:1', '--bogus'], message: /--bogus/},
  {name: 'tcpping --timeout 0', args: ['tcpping', '127.0.0.1:1', '--timeout', '0'], message: /--timeout "0" is too short/},
  {name: 'tcpping --timeout -1s', args: ['tcpping', '127.0.0.1:1', '--timeout=-1s'], message: /--timeout "-1s" is not a duration/},
  {name: 'tcpping --interval 25h', args: ['tcpping', '127.0.0.1:1', '--interval', '25h'], message: /--interval "25h" is too long/},
  {name: 'tcpping --min-success 5 -n 2', args: ['tcpping', '127.0.0.1:1', '--min-success', '5', '-n', '2'], message: /--min-success 5 is more than the 2 attempts/},
  {name: 'tcpping -n huge', args: ['tcpping', '127.0.0.1:1', '-n', '999999999999999999999'], message: /--count: Expected an integer less than or equal to 100000/},
  {name: 'tcpping -n -3', args: ['tcpping', '127.0.0.1:1', '-n=-3'], message: /--count/},
  {name: 'tcpping -n two', args: ['tcpping', '127.0.0.1:1', '-n', 'two'], message: /--count/},
  {name: 'tcpping port 70000', args: ['tcpping', 'db:70000'], message: /70000/},
  {name: 'tcpping unicode host', args: ['tcpping', 'dé🙂b:1433', '--timeout', 'soon'], message: /--timeout "soon" is not a duration/},
  {name: 'HCCTL_VERBOSE=banana', args: ['tcpping', '127.0.0.1:1'], env: {HCCTL_VERBOSE: 'banana'}, message: /HCCTL_VERBOSE "banana" is not true or false/},
  {name: 'HCCTL_RELAY_TOKEN_TTL=abc', args: ['forward', '--connection-string', 'x'], env: {HCCTL_RELAY_TOKEN_TTL: 'abc'}, message: /^Error: HCCTL_RELAY_TOKEN_TTL .* "abc" is not a duration/},
  {name: 'agent --token-ttl 1s', args: ['agent', '--connection-string', 'x', '--token-ttl', '1s'], message: /--token-ttl "1s" is too short: at least 2s/},
  {name: 'agent --health port 99999', args: ['agent', '--connection-string', 'x', '--health', '99999'], message: /--health "99999" is not \[address:\]port/},
  {name: 'agent --drain-timeout soon', args: ['agent', '--connection-string', 'x', '--drain-timeout', 'soon'], message: /--drain-timeout "soon" is not a duration/},
  {name: 'agent with a quoted connection string', args: ['agent', '--connection-string', '"Endpoint=sb://ns.servicebus.windows.net/;EntityPath=hc"'], message: /wrapped in quotes/},
  {name: 'agent with garbage connection string', args: ['agent', '--connection-string', 'ünïcødé;;=='], message: /connection string is invalid/},
  {name: 'forward --local 0.0.0.0:http', args: ['forward', '--local', '0.0.0.0:http'], message: /--local "0.0.0.0:http" is not \[address:\]port/},
  {name: 'create with a 300-character name', args: ['create', LONG, '--namespace', 'contoso-relay', '-g', 'rg', '--endpoint', 'db:1433', '--cloud', 'AzureCloud', '--access-token', 'x.y.z', '--subscription', '00000000-0000-0000-0000-000000000000'], message: /name|long|characters/i},
  {name: 'create with a name Azure refuses', args: ['create', 'bad name!', '--namespace', 'contoso-relay', '-g', 'rg', '--endpoint', 'db:1433', '--cloud', 'AzureCloud', '--access-token', 'x.y.z', '--subscription', '00000000-0000-0000-0000-000000000000'], message: /name/i},
  {name: 'create with endpoint port 0', args: ['create', 'hc1', '--namespace', 'contoso-relay', '-g', 'rg', '--endpoint', 'db:0', '--cloud', 'AzureCloud', '--access-token', 'x.y.z', '--subscription', '00000000-0000-0000-0000-000000000000'], message: /port/i},
  {name: 'relay test --count 0', args: ['relay', 'test', '--scratch', '--namespace', 'n', '-g', 'g', '--count', '0'], message: /--count/},
  {name: 'relay test --size huge', args: ['relay', 'test', '--scratch', '--namespace', 'n', '-g', 'g', '--size', '99999999999'], message: /--size/},
  {name: 'a --query that does not compile', args: ['cloud', 'list', '--query', 'value[?'], message: /query/i, jsonOnly: true},
  {name: 'an unknown cloud', args: ['list', '--namespace', 'n', '-g', 'g', '--cloud', 'Mars'], message: /Mars/},
  {name: 'HCCTL_HTTP_TIMEOUT=abc', args: ['list', '--namespace', 'n', '-g', 'g', '--cloud', 'AzureCloud', '--access-token', 'x.y.z', '--subscription', '00000000-0000-0000-0000-000000000000'], env: {HCCTL_HTTP_TIMEOUT: 'abc'}, message: /HCCTL_HTTP_TIMEOUT/},
]

describe('reliability: nasty CLI inputs, each refused in one line', function () {
  this.timeout(180_000)
  let runs = 0
  after(() => count(`cli-inputs: ${runs} nasty invocations (${CASES.length} cases, human and --json), each refused with one line and its exit code, 0 stack traces`))

  // The processes run four at a time (the machine has two cores); each case then checks its own.
  const results = new Map<Case, Promise<[CliResult, CliResult]>>()
  before(() => {
    const queue = [...CASES]
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const pair = Promise.all([runCli(c.args, {env: c.env}), runCli([...c.args, '--json'], {env: c.env})])
        results.set(c, pair)
        await pair.catch(() => {})
      }
    }
    void Promise.all([worker(), worker()])
  })
  const resultOf = async (c: Case) => {
    while (!results.has(c)) await new Promise((r) => setTimeout(r, 50))
    return results.get(c)!
  }

  for (const c of CASES) {
    it(`${c.name} → exit ${c.code ?? 2}, one line, also with --json`, async () => {
      const [human, json] = await resultOf(c)
      runs += 2
      assert.equal(human.code, c.code ?? 2, `${human.stdout}${human.stderr}`)
      assert.doesNotMatch(human.stderr + human.stdout, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace')
      if (!c.jsonOnly) {
        const errorLines = human.stderr.split('\n').filter((l) => l && !/^\s+→/.test(l))
        assert.equal(errorLines.length, 1, `one line (plus suggestions):\n${human.stderr}`)
        assert.match(errorLines[0]!, /^Error: /)
        assert.match(errorLines[0]!, c.message)
      }
      assert.equal(json.code, c.code ?? 2, `--json: ${json.stdout}${json.stderr}`)
      const body = json.json<{error: {exitCode: number; message: string}}>()
      assert.equal(body.error.exitCode, c.code ?? 2)
      assert.match(body.error.message, new RegExp(c.message.source.replace(/^\^Error: /, ''), c.message.flags))
    })
  }
})
