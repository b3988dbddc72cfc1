import {webError} from '../../http.js'
import {type ArmCtx, type ArmResult, obj} from '../context.js'
import {requireTarget} from './sites.js'

/** The app sandbox behind Kudu's command API (POST .../extensions/api/command). */

export async function siteCommand(ctx: ArmCtx): Promise<ArmResult> {
  const {site, slot} = requireTarget(ctx)
  const body = obj(ctx.body)
  const command = typeof body.command === 'string' ? body.command : ''
  if (!command.trim()) throw webError(400, 'BadRequest', "The request body needs a command, e.g. {\"command\": \"tcpping host:port\", \"dir\": null}.")
  const result = await ctx.env.runCommand({subscriptionId: site.subscriptionId, resourceGroup: site.resourceGroup, site: site.name, slot: slot?.name}, command)
  return {status: 200, body: result}
}
