import {strict as assert} from 'node:assert'

import {runCli} from '../../helpers/cli.js'

const KEY = 'VGhpc0lzQVNlY3JldEtleURvTm90UHJpbnRJdDAxMjM0NTY3ODk='
const SIG = 'c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1hcHBlYXI%3D'
const GOOD = `Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=defaultListener;SharedAccessKey=${KEY};EntityPath=sql01`

function noSecrets(text: string) {
  assert.doesNotMatch(text, new RegExp(KEY.slice(0, 16)), 'the key must not be printed')
  assert.doesNotMatch(text, /c2lnbmF0dXJl/, 'the signature must not be printed')
  assert.doesNotMatch(text, /\n\s+at .*\.js:\d+/, 'no stack trace')
}

/** Malformed connection strings, tokens and flags: exit 2, the bad part named, no secret in the output. */
describe('agent and forward: malformed input (real process)', () => {
  const cases: Array<{name: string; args: string[]; env?: NodeJS.ProcessEnv; expect: RegExp}> = [
    {name: 'agent: connection string without EntityPath', args: ['agent', '--connection-string', GOOD.replace(';EntityPath=sql01', '')], expect: /EntityPath .*missing/},
    {name: 'agent: misspelt key name', args: ['agent', '--connection-string', GOOD.replace('SharedAccessKey=', 'SharedAccesKey=')], expect: /unknown key "SharedAccesKey"/},
    {name: 'agent: Endpoint not a URI', args: ['agent', '--connection-string', GOOD.replace('sb://contoso.servicebus.windows.net/', 'contoso')], expect: /Endpoint is not an absolute URI/},
    {name: 'agent: key without key name', args: ['agent', '--connection-string', GOOD.replace('SharedAccessKeyName=defaultListener;', '')], expect: /SharedAccessKey is given without SharedAccessKeyName/},
    {
      name: 'agent: bad entry in HCCTL_AGENT_CONNECTION_STRINGS',
      args: ['agent'],
      env: {HCCTL_AGENT_CONNECTION_STRINGS: `${GOOD}\nEndpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=${KEY};Entity=x`},
      expect: /HCCTL_AGENT_CONNECTION_STRINGS entry #2.*unknown key "Entity"/,
    },
    {
      name: 'forward: SAS token with a bad expiry',
      args: ['forward', '--connection-string', `Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=http%3A%2F%2Fcontoso.servicebus.windows.net%2Fsql01&sig=${SIG}&se=tomorrow&skn=defaultSender;EntityPath=sql01`],
      expect: /SharedAccessSignature is malformed.*"se" \(expiry\)/,
    },
    {
      name: 'forward: SAS token without a signature',
      args: ['forward', '--connection-string', 'Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=x&se=1&skn=y;EntityPath=sql01'],
      expect: /no "sig" field/,
    },
    {name: 'forward: bad --local', args: ['forward', '--connection-string', GOOD, '--local', 'localhost:http'], expect: /--local "localhost:http" is not \[address:\]port/},
    {name: 'agent: bad --drain-timeout', args: ['agent', '--connection-string', GOOD, '--drain-timeout', 'soon'], expect: /--drain-timeout "soon"/},
    {name: 'agent: missing config file', args: ['agent', '--config', '/nonexistent/agent.yaml'], expect: /Cannot read the agent config .*ENOENT/},
    {name: 'agent: nothing to listen on', args: ['agent'], expect: /No hybrid connection to listen on/},
    {name: 'forward: no hybrid connection', args: ['forward'], expect: /Which hybrid connection/},
  ]

  for (const c of cases) {
    it(c.name, async () => {
      const r = await runCli(c.args, {env: c.env})
      assert.equal(r.code, 2, `exit code\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
      assert.match(r.stderr, c.expect)
      noSecrets(r.stdout + r.stderr)
    })
  }

  it('--json: the error object with exit code 2, no key', async () => {
    const r = await runCli(['agent', '--json', '--connection-string', GOOD.replace(';EntityPath=sql01', ';EntityPath=')])
    assert.equal(r.code, 2)
    const body = r.json<{error: {code: string; exitCode: number; message: string}}>()
    assert.equal(body.error.exitCode, 2)
    assert.equal(body.error.code, 'InvalidConnectionString')
    assert.match(body.error.message, /EntityPath is empty/)
    noSecrets(r.stdout + r.stderr)
  })
})
