import {strict as assert} from 'node:assert'

import {REDACTED, redactHeaders, redactText, redactValue} from '../../../src/lib/output/redact.js'

describe('redact', () => {
  it('removes bearer tokens and bare JWTs', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
    assert.equal(redactText(`Authorization: Bearer ${jwt}`), `Authorization: Bearer ${REDACTED}`)
    assert.ok(!redactText(`token ${jwt} here`).includes('eyJzdWIi'))
  })

  it('removes SAS signatures, raw and URL-encoded', () => {
    const sas = 'SharedAccessSignature sr=https%3a%2f%2fns.servicebus.windows.net%2fhc&sig=abc%2Bdef%3D&se=1700000000&skn=defaultListener'
    const out = redactText(sas)
    assert.ok(!out.includes('abc%2Bdef'), out)
    assert.ok(out.includes('skn=defaultListener'), 'keeps the rule name')
    assert.ok(!redactText('wss://h/$hc/x?sb-hc-token=SharedAccessSignature%20sr%3Dx%26sig%3Dsecret').includes('secret'))
  })

  it('removes keys from connection strings but keeps the rest', () => {
    const cs = 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=defaultListener;SharedAccessKey=c2VjcmV0a2V5PT0=;EntityPath=hc'
    const out = redactText(cs)
    assert.ok(!out.includes('c2VjcmV0a2V5PT0='), out)
    assert.ok(out.includes('EntityPath=hc'))
    assert.ok(out.includes('SharedAccessKeyName=defaultListener'))
  })

  it('redacts secret-named JSON properties deeply, leaving empty ones visible', () => {
    const value = {properties: {sendKeyName: 'defaultSender', sendKeyValue: 'k3y', nested: [{primaryKey: 'p', secondaryKey: ''}]}}
    assert.deepEqual(redactValue(value), {
      properties: {sendKeyName: 'defaultSender', sendKeyValue: REDACTED, nested: [{primaryKey: REDACTED, secondaryKey: ''}]},
    })
    assert.ok(!redactText(JSON.stringify(value)).includes('k3y'))
  })

  it('redacts sensitive headers by name', () => {
    assert.deepEqual(redactHeaders({Authorization: 'Bearer x', 'Content-Type': 'application/json'}), {
      Authorization: REDACTED,
      'Content-Type': 'application/json',
    })
  })
})

describe('redact: values, never names or prose', () => {
  const KEY = 'c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIzNDU='
  const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'

  it('shows a planned endpoint metadata exactly, as text and as a value', () => {
    const metadata = '[{"key":"endpoint","value":"db01.corp:1433"},{"key":"owner","value":"ops"}]'
    assert.equal(redactText(metadata), metadata)
    assert.equal(redactText(JSON.stringify({properties: {userMetadata: metadata}})), JSON.stringify({properties: {userMetadata: metadata}}))
    const items = [{key: 'endpoint', value: 'db01.corp:1433'}, {value: 'x', key: 'owner'}]
    assert.deepEqual(redactValue(items), items)
    assert.equal(redactText(JSON.stringify(items)), JSON.stringify(items))
  })

  it('still hides a "key" that is a secret (regenerateKeys), a sendKeyValue beside metadata, and bearer tokens', () => {
    assert.ok(!redactText(JSON.stringify({keyType: 'PrimaryKey', key: KEY})).includes(KEY))
    assert.deepEqual(redactValue({keyType: 'PrimaryKey', key: KEY}), {keyType: 'PrimaryKey', key: REDACTED})
    const body = JSON.stringify({properties: {userMetadata: '[{"key":"endpoint","value":"db:1"}]', sendKeyValue: KEY}})
    assert.ok(!redactText(body).includes(KEY))
    assert.equal(redactText(`Authorization: Bearer ${JWT}`), `Authorization: Bearer ${REDACTED}`)
    assert.equal(redactText(`{"Authorization":"Bearer ${KEY}"}`), `{"Authorization":"Bearer ${REDACTED}"}`)
  })

  it('leaves prose and a WWW-Authenticate challenge as they are', () => {
    for (const text of [
      '→ Or pass a bearer token with --access-token',
      'Pass a Bearer token from `az account get-access-token`.',
      'www-authenticate: Bearer authorization_uri="https://login.microsoftonline.com/tenant", error="invalid_token", error_description="The access token expired"',
      'WWW-Authenticate: Bearer realm="", error=invalid_token',
    ]) {
      assert.equal(redactText(text), text)
    }
  })
})
