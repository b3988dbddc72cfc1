import type {IncomingMessage, ServerResponse} from 'node:http'

import {sendJson} from '../http.js'

/**
 * `GET /metadata/endpoints`: ARM's anonymous discovery document, which tools read to learn a
 * cloud from its ARM URL alone (`az cloud register --endpoint-resource-manager URL`, as Azure
 * Stack Hub users do; Terraform's go-azure-sdk; Azure PowerShell). Two shapes, chosen by
 * api-version as real ARM does:
 *
 * * `2015-01-01` (what the Azure CLI asks for): `galleryEndpoint`, `graphEndpoint`,
 *   `portalEndpoint`, `authentication.loginEndpoint`, `authentication.audiences`.
 * * `2022-09-01`: one object for this cloud: `name`, `resourceManager`, `portal`, `graph`,
 *   `graphAudience`, `microsoftGraphResourceId`, `authentication` (with `tenant` and
 *   `identityProvider`), `suffixes`.
 *
 * Every URL is this emulator's own. The login endpoint is `{base}/adfs`: the token service serves
 * the ADFS form there, and an `/adfs` authority is the one form with which MSAL (inside the Azure
 * CLI) skips the instance discovery it would otherwise ask of the public cloud. The audience is
 * the emulator's own URL, which its ARM accepts. Services the emulator does not run (gallery,
 * portal, graph) get URLs under the emulator that answer 404, never a public cloud's.
 */

export const METADATA_API_VERSIONS = ['2015-01-01', '2022-09-01'] as const

/** True for `/metadata/endpoints` (any case, extra slashes tolerated: the CLI asks for `//metadata/...`). */
export function isMetadataPath(pathname: string): boolean {
  return /^\/+metadata\/+endpoints\/*$/i.test(pathname)
}

export function metadataDocument(base: string, apiVersion: string): unknown {
  const root = base.replace(/\/+$/, '')
  const loginEndpoint = `${root}/adfs/`
  const audiences = [`${root}/`]
  if (apiVersion === '2015-01-01') {
    return {
      galleryEndpoint: `${root}/gallery/`,
      graphEndpoint: `${root}/graph/`,
      portalEndpoint: `${root}/portal/`,
      authentication: {loginEndpoint, audiences},
    }
  }
  return {
    name: 'hcctl-emulator',
    resourceManager: `${root}/`,
    portal: `${root}/portal/`,
    gallery: `${root}/gallery/`,
    graph: `${root}/graph/`,
    graphAudience: `${root}/graph/`,
    microsoftGraphResourceId: `${root}/graph/`,
    authentication: {loginEndpoint, audiences, tenant: 'adfs', identityProvider: 'ADFS'},
    suffixes: {},
  }
}

/** Answers the discovery document; no token needed (real ARM answers it anonymously too). */
export function handleMetadata(req: IncomingMessage, res: ServerResponse, url: URL, base: string): void {
  const headers = {'cache-control': 'no-cache'}
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, {error: {code: 'MethodNotAllowed', message: `The requested resource does not support http method '${req.method}'.`}}, {...headers, allow: 'GET'})
  }
  const apiVersion = ([...url.searchParams].find(([name]) => name.toLowerCase() === 'api-version')?.[1] ?? '').toLowerCase()
  if (!apiVersion) {
    return sendJson(res, 400, {error: {code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests."}}, headers)
  }
  if (!(METADATA_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    return sendJson(res, 400, {error: {code: 'InvalidApiVersionParameter', message: `The api-version '${apiVersion}' is invalid. The supported versions are '${METADATA_API_VERSIONS.join(', ')}'.`}}, headers)
  }
  sendJson(res, 200, req.method === 'HEAD' ? undefined : metadataDocument(base, apiVersion), headers)
}
