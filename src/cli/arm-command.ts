import {Args, type Command, Flags} from '@oclif/core'

import type {ArmResponse, HttpMethod} from '../lib/azure/arm-types.js'
import {isHcctlError} from '../lib/errors.js'
import {colorFor} from '../lib/output/color.js'
import {redactText} from '../lib/output/redact.js'
import {BaseCommand} from './base-command.js'
import {azureFlags} from './flags.js'

/**
 * The five `hcctl arm` verbs share everything but the method: each command file sets
 * `static method` and its help text. The work is `armCall` in lib/azure/arm-call.ts.
 */
export abstract class ArmCommand<T extends typeof Command> extends BaseCommand<T> {
  static method: HttpMethod = 'GET'

  static override args = {
    url: Args.string({
      description: 'Absolute URL on the cloud\'s ARM endpoint, or a path such as /subscriptions/{subscriptionId}/...?api-version=...; {subscriptionId} is filled in.',
      required: true,
    }),
    body: Args.string({description: 'JSON body: literal JSON, @file.json, or - to read stdin.'}),
  }

  static override flags = {
    ...azureFlags,
    'api-version': Flags.string({description: 'The api-version to send (overrides one in the URL).'}),
    header: Flags.string({char: 'H', description: 'Extra request header "Name: value" (repeatable).', multiple: true}),
    wait: Flags.boolean({description: 'Follow a long-running operation (Azure-AsyncOperation / Location / provisioningState) to its end.'}),
    include: Flags.boolean({char: 'i', description: 'Also print the status line and response headers (to stderr, secrets redacted).'}),
  }

  async run(): Promise<unknown> {
    const {armCall} = await import('../lib/azure/arm-call.js')
    const method = (this.constructor as typeof ArmCommand).method
    const flags = this.flags as {cloud?: string; subscription?: string; 'access-token'?: string; 'api-version'?: string; header?: string[]; wait: boolean; include: boolean; all?: boolean}
    const args = this.args as {url: string; body?: string}
    const context = await this.azure(flags)
    let response: ArmResponse
    this.showProgress(`${method} ${redactText(args.url.split('?')[0]!)}`)
    try {
      response = await armCall(context.arm, {
        method,
        url: args.url,
        body: args.body,
        readStdin,
        apiVersion: flags['api-version'],
        headers: flags.header,
        wait: flags.wait,
        all: flags.all,
        signal: this.abort.signal,
      })
    } catch (error) {
      const e = error as {status?: number; headers?: Record<string, string>}
      if (flags.include && isHcctlError(error) && typeof e.status === 'number' && e.headers) this.printHead(e.status, e.headers)
      throw error
    }
    if (flags.include) this.printHead(response.status, response.headers)
    const body = response.body ?? null
    if (!this.jsonEnabled() && body !== null) {
      this.log(typeof body === 'string' ? body : colorJson(body, colorFor(process.stdout).level > 0))
    }
    return body
  }

  /** `--json` is compact for scripts, on a terminal too (armclient users pipe it to jq). */
  public override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n')
  }

  private printHead(status: number, headers: Record<string, string>): void {
    const lines = [`HTTP ${status}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
    process.stderr.write(redactText(lines.join('\n')) + '\n\n')
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Pretty JSON, coloured when asked (keys, strings, numbers, literals). */
export function colorJson(value: unknown, color: boolean): string {
  const text = JSON.stringify(value, null, 2)
  if (!color) return text
  const c = colorFor({isTTY: true}, {FORCE_COLOR: '1'})
  return text.replace(/("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (m, str: string | undefined, colon: string | undefined, lit: string | undefined, num: string | undefined) => {
    if (str) return colon ? c.blue(str) + colon : c.green(str)
    if (lit) return c.magenta(lit)
    if (num) return c.yellow(num)
    return m
  })
}
