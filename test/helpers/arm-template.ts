/**
 * A small ARM template deployer for tests: evaluates the few template functions `hcctl export`
 * uses (`parameters`, `resourceId`, `listKeys`, `concat`, `format`, property access) and PUTs
 * the resources in dependency order (a topological sort of `dependsOn`, not the array order),
 * through a request function (the emulator in the tests). Not a general ARM engine: anything
 * else in an expression throws, so a template that needs more fails its test.
 */
export type TemplateRequest = (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => Promise<{status: number; json: unknown}>

export interface DeployOptions {
  subscriptionId: string
  resourceGroup: string
  parameters?: Record<string, unknown>
  request: TemplateRequest
}

interface TemplateResource {
  type: string
  apiVersion: string
  name: string
  location?: string
  sku?: unknown
  dependsOn?: string[]
  properties?: unknown
}

type Token = {kind: 'ident' | 'string' | 'number' | 'punct'; value: string}

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === "'") {
      let s = ''
      i++
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated string in ${text}`)
        if (text[i] === "'" && text[i + 1] === "'") {
          s += "'"
          i += 2
        } else if (text[i] === "'") {
          i++
          break
        } else s += text[i++]
      }
      tokens.push({kind: 'string', value: s})
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!
      tokens.push({kind: 'ident', value: m[0]})
      i += m[0].length
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+/.exec(text.slice(i))!
      tokens.push({kind: 'number', value: m[0]})
      i += m[0].length
    } else if ('(),.[]'.includes(c)) {
      tokens.push({kind: 'punct', value: c})
      i++
    } else throw new Error(`unexpected "${c}" in ${text}`)
  }
  return tokens
}

type Node = {kind: 'lit'; value: unknown} | {kind: 'call'; name: string; args: Node[]} | {kind: 'prop'; of: Node; name: string} | {kind: 'index'; of: Node; index: Node}

function parse(text: string): Node {
  const tokens = tokenize(text)
  let pos = 0
  const peek = () => tokens[pos]
  const expect = (v: string) => {
    const t = tokens[pos++]
    if (t?.value !== v) throw new Error(`expected "${v}" in ${text}`)
  }
  const primary = (): Node => {
    const t = tokens[pos++]
    if (!t) throw new Error(`unexpected end of ${text}`)
    let node: Node
    if (t.kind === 'string') node = {kind: 'lit', value: t.value}
    else if (t.kind === 'number') node = {kind: 'lit', value: Number(t.value)}
    else if (t.kind === 'ident') {
      expect('(')
      const args: Node[] = []
      if (peek()?.value !== ')') {
        args.push(primary())
        while (peek()?.value === ',') {
          pos++
          args.push(primary())
        }
      }
      expect(')')
      node = {kind: 'call', name: t.value.toLowerCase(), args}
    } else throw new Error(`unexpected "${t.value}" in ${text}`)
    for (;;) {
      if (peek()?.value === '.') {
        pos++
        const name = tokens[pos++]
        if (name?.kind !== 'ident') throw new Error(`expected a property name in ${text}`)
        node = {kind: 'prop', of: node, name: name.value}
      } else if (peek()?.value === '[') {
        pos++
        const index = primary()
        expect(']')
        node = {kind: 'index', of: node, index}
      } else return node
    }
  }
  const node = primary()
  if (pos !== tokens.length) throw new Error(`trailing tokens in ${text}`)
  return node
}

/** `/subscriptions/…/providers/{ns}/{t1}/{n1}/{t2}/{n2}`… from a type and its name segments. */
export function resourceIdOf(subscriptionId: string, resourceGroup: string, type: string, names: string[]): string {
  const [provider, ...types] = type.split('/')
  if (types.length !== names.length) throw new Error(`resourceId: ${type} needs ${types.length} names, got ${names.length}`)
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${provider}/${types.map((t, i) => `${t}/${names[i]}`).join('/')}`
}

export class TemplateEvaluator {
  constructor(private readonly o: DeployOptions & {defaults: Record<string, unknown>}) {}

  async value(v: unknown): Promise<unknown> {
    if (typeof v === 'string') return this.string(v)
    if (Array.isArray(v)) return Promise.all(v.map((x) => this.value(x)))
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[k] = await this.value(x)
      return out
    }
    return v
  }

  /** A template string: `[[…` is a literal starting with `[`, `[…]` an expression, anything else a literal. */
  async string(s: string): Promise<unknown> {
    if (s.startsWith('[[')) return s.slice(1)
    if (s.startsWith('[') && s.endsWith(']')) return this.evaluate(parse(s.slice(1, -1)))
    return s
  }

  private async evaluate(n: Node): Promise<unknown> {
    if (n.kind === 'lit') return n.value
    if (n.kind === 'prop') {
      const of = (await this.evaluate(n.of)) as Record<string, unknown>
      if (!of || !(n.name in of)) throw new Error(`no property ${n.name}`)
      return of[n.name]
    }
    if (n.kind === 'index') return ((await this.evaluate(n.of)) as Record<string, unknown>)[String(await this.evaluate(n.index))]
    const args = await Promise.all(n.args.map((a) => this.evaluate(a)))
    switch (n.name) {
      case 'parameters': {
        const name = String(args[0])
        if (this.o.parameters && name in this.o.parameters) return this.o.parameters[name]
        if (name in this.o.defaults) return this.o.defaults[name]
        throw new Error(`no parameter ${name}`)
      }
      case 'concat':
        return args.map(String).join('')
      case 'format':
        return String(args[0]).replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i) + 1]))
      case 'resourceid': {
        const strings = args.map(String)
        // resourceId([resourceGroup,] type, name1, name2...)
        const typeAt = strings[0]!.includes('/') ? 0 : 1
        const rg = typeAt === 1 ? strings[0]! : this.o.resourceGroup
        return resourceIdOf(this.o.subscriptionId, rg, strings[typeAt]!, strings.slice(typeAt + 1))
      }
      case 'listkeys': {
        const r = await this.o.request('POST', `${String(args[0])}/listKeys?api-version=${String(args[1])}`)
        if (r.status !== 200) throw new Error(`listKeys ${String(args[0])}: HTTP ${r.status}`)
        return r.json
      }
      default:
        throw new Error(`the test deployer does not know the template function ${n.name}()`)
    }
  }
}

export interface Deployed {
  /** ARM ids in the order they were PUT. */
  order: string[]
}

/** Deploys the template's resources in dependency order. */
export async function deployTemplate(template: {parameters?: Record<string, {defaultValue?: unknown}>; resources: TemplateResource[]}, o: DeployOptions): Promise<Deployed> {
  const defaults = Object.fromEntries(Object.entries(template.parameters ?? {}).map(([k, v]) => [k, v.defaultValue]))
  const ev = new TemplateEvaluator({...o, defaults})
  const items = await Promise.all(
    template.resources.map(async (r) => {
      const name = String(await ev.string(r.name))
      const id = resourceIdOf(o.subscriptionId, o.resourceGroup, r.type, name.split('/'))
      const deps = await Promise.all((r.dependsOn ?? []).map(async (d) => String(await ev.string(d)).toLowerCase()))
      return {r, id, deps}
    }),
  )
  const done = new Set<string>()
  const order: string[] = []
  const remaining = [...items].reverse() // the sort must not lean on the array order
  while (remaining.length > 0) {
    const i = remaining.findIndex((x) => x.deps.every((d) => done.has(d)))
    if (i === -1) throw new Error(`unresolvable dependsOn: ${remaining.map((x) => `${x.id} needs ${x.deps.filter((d) => !done.has(d)).join(', ')}`).join('; ')}`)
    const [{r, id}] = remaining.splice(i, 1) as [(typeof items)[number]]
    const body = {...(r.location ? {location: r.location} : {}), ...(r.sku ? {sku: r.sku} : {}), properties: await ev.value(r.properties ?? {})}
    const put = await o.request('PUT', `${id}?api-version=${r.apiVersion}`, body)
    if (put.status >= 300) throw new Error(`PUT ${id}: HTTP ${put.status} ${JSON.stringify(put.json)}`)
    if (put.status === 201 || put.status === 202) {
      for (let n = 0; n < 20; n++) {
        const g = await o.request('GET', `${id}?api-version=${r.apiVersion}`)
        const state = (g.json as {properties?: {provisioningState?: string}})?.properties?.provisioningState
        if (g.status === 200 && (!state || /succeeded/i.test(state))) break
      }
    }
    done.add(id.toLowerCase())
    order.push(id)
  }
  return {order}
}
