import jmespath from 'jmespath'

// The package exports compile() but its types do not declare it.
const {compile} = jmespath as unknown as {compile(expression: string): unknown}

import {UsageError} from '../errors.js'

/** Checks a JMESPath expression up front, so a typo fails before any remote call. */
export function validateQuery(expression: string | undefined): void {
  if (expression === undefined || expression === '') return
  try {
    compile(expression)
  } catch (error) {
    throw invalidQuery(expression, error)
  }
}

function invalidQuery(expression: string, error: unknown): UsageError {
  return new UsageError(`Invalid --query expression ${JSON.stringify(expression)}: ${(error as Error).message}`, {
    code: 'InvalidQuery',
    suggestions: ['See https://jmespath.org for the syntax, e.g. --query "value[].name".'],
  })
}

/** Applies a JMESPath expression (`--query`) to a command's JSON result. */
export function applyQuery(value: unknown, expression: string | undefined): unknown {
  if (expression === undefined || expression === '') return value
  try {
    // JSON round trip: JMESPath works on plain JSON, not on class instances or undefined.
    return jmespath.search(JSON.parse(JSON.stringify(value ?? null)), expression)
  } catch (error) {
    throw invalidQuery(expression, error)
  }
}
