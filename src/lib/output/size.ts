import {UsageError} from '../errors.js'

/**
 * Units as dd(1) reads them: `K`, `M`, `G` (and `KiB`, `MiB`, `GiB`) are powers of 1024;
 * `kB`/`KB`, `MB`, `GB` are powers of 1000; `B` or no unit is bytes.
 */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
}

/** Parses a byte size such as `4096`, `64K`, `50MB`, `1.5MiB`; a usage error names the flag. */
export function parseByteSize(text: string, name: string, bounds: {min?: number; max?: number} = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined
  if (!m || factor === undefined) {
    throw new UsageError(`${name} "${text.slice(0, 40)}" is not a size.`, {
      code: 'InvalidSize',
      suggestions: [`Give bytes, or a number with a unit: ${name} 4096, 64K, 50MB, 1.5MiB (K/M/G and KiB/MiB/GiB are 1024-based, kB/MB/GB 1000-based).`],
    })
  }
  const bytes = Math.round(Number(m[1]) * factor)
  if ((bounds.min !== undefined && bytes < bounds.min) || (bounds.max !== undefined && bytes > bounds.max)) {
    throw new UsageError(`${name} ${text.trim()} (${bytes} bytes) is out of range: ${bounds.min ?? 0} to ${bounds.max ?? 'any'} bytes.`, {code: 'InvalidSize'})
  }
  return bytes
}
