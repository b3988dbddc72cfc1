import {strict as assert} from 'node:assert'

import {CloudAgents, TransportError, proxyFor} from '../../../src/lib/azure/transport.js'

describe('transport: proxies and agents', () => {
  it('takes HTTPS_PROXY from the given environment, honours NO_PROXY, and skips loopback unless asked', async () => {
    const env = {HTTPS_PROXY: 'http://proxy.example.test:3128', NO_PROXY: '.internal.example.test'}
    assert.equal(await proxyFor('https://management.azure.com/x', {env}), 'http://proxy.example.test:3128')
    assert.equal(await proxyFor('https://arm.internal.example.test/x', {env}), undefined)
    assert.equal(await proxyFor('https://127.0.0.1:8443/x', {env}), undefined)
    assert.equal(await proxyFor('https://localhost:8443/x', {env}), undefined)
    assert.equal(await proxyFor('https://127.0.0.1:8443/x', {env, loopback: true}), 'http://proxy.example.test:3128')
    assert.equal(await proxyFor('https://management.azure.com/x', {env: {}}), undefined)
    // NO_PROXY as curl reads it: a bare domain covers its subdomains too, `*` covers everything.
    assert.equal(await proxyFor('https://arm.corp.example.test/x', {env: {HTTPS_PROXY: 'http://p:1', NO_PROXY: 'corp.example.test'}}), undefined)
    assert.equal(await proxyFor('https://management.azure.com/x', {env: {HTTPS_PROXY: 'http://p:1', NO_PROXY: '*'}}), undefined)
    assert.equal(await proxyFor('https://[::1]:8443/x', {env}), undefined)
    assert.equal(process.env.HTTPS_PROXY, process.env.HTTPS_PROXY, 'process.env is restored')
  })

  it('keeps one agent per proxy and destroys them', async () => {
    const agents = new CloudAgents({ca: undefined}, {env: {HTTPS_PROXY: 'http://proxy.example.test:3128'}})
    const direct = await agents.agentFor('https://127.0.0.1:1/')
    assert.equal(await agents.agentFor('https://127.0.0.1:2/'), direct)
    const proxied = await agents.agentFor('https://management.azure.com/')
    assert.notEqual(proxied, direct)
    assert.equal(proxied.constructor.name, 'CaProxyAgent')
    agents.destroy()
  })

  it('classifies TLS failures so they are not retried', () => {
    assert.equal(new TransportError('x', {code: 'SELF_SIGNED_CERT_IN_CHAIN'}).tls, true)
    assert.equal(new TransportError('unable to verify the first certificate', {code: 'X'}).tls, true)
    assert.equal(new TransportError('socket hang up', {code: 'ECONNRESET'}).tls, false)
  })
})
