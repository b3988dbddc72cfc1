/* global require, process, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS peer: Microsoft's hyco packages are CommonJS */
'use strict'
// A hyco-ws (Microsoft's Node package) listener that echoes every message with its type.
// Runs in its own process so that NODE_EXTRA_CA_CERTS can make it trust the test CA.
const W = require('hyco-ws')

const config = JSON.parse(process.env.HYCO_PEER)
const server = W.createRelayedServer(
  {server: config.listenUri, token: () => W.createRelayToken(config.tokenUri, config.keyName, config.key)},
  (ws) => {
    process.send({event: 'connection', protocol: ws.protocol || ''})
    ws.on('message', (data, flags) => ws.send(data, {binary: Boolean(flags && flags.binary)}))
    ws.on('error', () => {})
  },
)
server.on('listening', () => process.send({event: 'listening'}))
// Without an 'error' handler hyco-ws crashes the process (relay-protocol.md §6.5).
server.on('error', (e) => process.send({event: 'error', message: String((e && e.message) || e)}))
process.on('disconnect', () => process.exit(0))
void Buffer
