/* global require, process, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS peer: Microsoft's hyco packages are CommonJS */
'use strict'
// A hyco-ws sender: sends one text and one binary message and reports what comes back.
const W = require('hyco-ws')

const config = JSON.parse(process.env.HYCO_PEER)
const token = W.createRelayToken(config.tokenUri, config.keyName, config.key)
const got = []
const ws = W.relayedConnect(config.address, token, () => {
  ws.send('hello from hyco-ws')
  ws.send(Buffer.from([0, 1, 2, 250, 255]), {binary: true})
})
ws.on('message', (data, flags) => {
  got.push({binary: Boolean(flags && flags.binary), base64: Buffer.from(data).toString('base64')})
  if (got.length === 2) {
    process.send({event: 'echo', got}, () => ws.close())
  }
})
ws.on('error', (e) => process.send({event: 'error', message: String((e && e.message) || e)}))
ws.on('close', (code) => process.send({event: 'close', code}, () => process.exit(0)))
