import type {HybridContext} from '../context.js'
import type {AppRef} from '../model.js'
import {renderArm} from './arm.js'
import {renderBicep} from './bicep.js'
import {type ExportPlan, type ExportResourceSummary, readExportPlan, summarize} from './model.js'
import {renderTerraform} from './terraform.js'

export type {ExportPlan, ExportResourceSummary} from './model.js'

export type ExportFormat = 'arm' | 'bicep' | 'terraform'
export const EXPORT_FORMATS: readonly ExportFormat[] = ['arm', 'bicep', 'terraform']

/** The `--json` result of `hcctl export`. */
export interface ExportResult {
  format: ExportFormat
  app: {resourceGroup: string; app: string; slot?: string}
  /** Every resource of the template, in dependency order (the same in every format). */
  resources: ExportResourceSummary[]
  /** Hybrid connections left out, and why. */
  warnings: string[]
  /** Where the template was written (--output), or absent when it went to stdout. */
  file?: string
  /** The template text (no key in it: the send key is listKeys() at deployment). */
  template: string
}

export function renderPlan(plan: ExportPlan, format: ExportFormat): string {
  if (format === 'bicep') return renderBicep(plan)
  if (format === 'terraform') return renderTerraform(plan)
  return renderArm(plan)
}

/** `hcctl export`: what is attached to the app today, as a template that recreates it. */
export async function exportApp(ctx: HybridContext, input: {app: AppRef; format: ExportFormat}): Promise<ExportResult> {
  const plan = await readExportPlan(ctx, input.app)
  for (const w of plan.warnings) ctx.warn?.(w)
  return {
    format: input.format,
    app: {resourceGroup: input.app.resourceGroup, app: input.app.app, ...(input.app.slot ? {slot: input.app.slot} : {})},
    resources: summarize(plan),
    warnings: plan.warnings,
    template: renderPlan(plan, input.format),
  }
}
