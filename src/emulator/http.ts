import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

/** Small HTTP helpers shared by the ARM routes, the token service and the admin endpoint. */

export const MAX_BODY = 4 * 1024 * 1024

export async function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new HttpError(413, {error: {code: 'RequestEntityTooLarge', message: `The request body is larger than ${limit} bytes.`}})
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** An answer that is not a success, thrown from handlers and rendered by the router. */
export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly body: unknown,
    public readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'object' && body !== null ? JSON.stringify(body).slice(0, 200) : String(body))
  }
}

/** The ARM / OData error shape: `{"error": {"code", "message"}}`. */
export function armError(status: number, code: string, message: string, headers?: Record<string, string>): HttpError {
  return new HttpError(status, {error: {code, message}}, headers)
}

/** App Service's legacy PascalCase shape (arm-surface.md §2.4). */
export function webError(status: number, code: string, message: string, template?: {extendedCode: string; messageTemplate: string; parameters: string[]}): HttpError {
  const entity = {
    ExtendedCode: template?.extendedCode ?? '51004',
    MessageTemplate: template?.messageTemplate ?? message,
    Parameters: template?.parameters ?? [],
    Code: code,
    Message: message,
  }
  return new HttpError(status, {Code: code, Message: message, Target: null, Details: [{Message: message}, {Code: code}, {ErrorEntity: entity}], Innererror: null})
}

export function webNotFound(what: string, name: string): HttpError {
  return webError(404, 'NotFound', `Cannot find ${what} with name ${name}.`, {extendedCode: '51004', messageTemplate: 'Cannot find {0} with name {1}.', parameters: [what, name]})
}

/** ARM's own 404 for a resource that does not exist in its group (Microsoft.Web and Microsoft.Relay both answer it). */
export function resourceNotFound(resourceGroup: string, type: string, name: string): HttpError {
  return armError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, {
    ...(text ? {'content-type': 'application/json; charset=utf-8'} : {}),
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

export function newRequestId(): string {
  return randomUUID()
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}
