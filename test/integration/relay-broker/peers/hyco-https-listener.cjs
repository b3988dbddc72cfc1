/* global require, process, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS peer: Microsoft's hyco packages are CommonJS */
'use strict'
// A hyco-https listener: answers /small with a short text and /big with a 100 KB body, and
// reports the SHA-256 of every request body it read.
const crypto = require('crypto')
const H = require('hyco-https')

const config = JSON.parse(process.env.HYCO_PEER)
const big = Buffer.alloc(100 * 1024)
for (let i = 0; i < big.length; i++) big[i] = i % 251

const server = H.createRelayedServer(
  {server: config.listenUri, token: () => H.createRelayToken(config.tokenUri, config.keyName, config.key)},
  (req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(Buffer.from(c)))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const sha = crypto.createHash('sha256').update(body).digest('hex')
      res.setHeader('X-Request-Sha256', sha)
      res.setHeader('X-Request-Length', String(body.length))
      if (req.url.indexOf('/big') !== -1) {
        res.setHeader('Content-Type', 'application/octet-stream')
        res.end(big)
      } else {
        res.setHeader('Content-Type', 'text/plain')
        res.end(`hello ${req.method} ${req.url}`)
      }
    })
  },
)
server.on('listening', () => process.send({event: 'listening'}))
server.on('error', (e) => process.send({event: 'error', message: String((e && e.message) || e)}))
server.listen()
process.on('disconnect', () => process.exit(0))
