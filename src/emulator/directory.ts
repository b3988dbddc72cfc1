import type {RelayDirectory, RelayEntity} from './contracts.js'
import type {HybridConnectionRec, NamespaceRec, StateStore} from './state.js'

/**
 * The relay broker's view of the ARM state: which namespaces and hybrid connections exist and
 * which keys are valid. Always reads the live state, so rule changes and deletes apply at once.
 */
export class StateRelayDirectory implements RelayDirectory {
  constructor(private readonly state: StateStore) {}

  namespaces(): string[] {
    return this.state.data.namespaces.map((n) => n.name)
  }

  resolve(namespace: string | undefined, path: string): {entity: RelayEntity; suffix: string} | undefined {
    const segments = path.replace(/^\/+/, '').split('/')
    const candidates = namespace === undefined ? this.state.data.namespaces : this.state.data.namespaces.filter((n) => n.name.toLowerCase() === namespace.toLowerCase())
    const matches: Array<{ns: NamespaceRec; hc: HybridConnectionRec; length: number}> = []
    for (const ns of candidates) {
      let best: {hc: HybridConnectionRec; length: number} | undefined
      for (const hc of ns.hybridConnections) {
        const parts = hc.name.split('/')
        if (parts.length > segments.length) continue
        if (parts.every((p, i) => p.toLowerCase() === segments[i]!.toLowerCase()) && (!best || parts.length > best.length)) best = {hc, length: parts.length}
      }
      if (best) matches.push({ns, ...best})
    }
    if (matches.length === 0) return undefined
    if (namespace === undefined && matches.length > 1) {
      // A bare-IP host resolves by name only when that is unambiguous; the longest match wins if unique.
      const longest = Math.max(...matches.map((m) => m.length))
      const top = matches.filter((m) => m.length === longest)
      if (top.length !== 1) return undefined
      matches.splice(0, matches.length, top[0]!)
    }
    const {ns, hc, length} = matches[0]!
    return {entity: toEntity(ns, hc), suffix: segments.slice(length).join('/')}
  }
}

function toEntity(ns: NamespaceRec, hc: HybridConnectionRec): RelayEntity {
  return {
    namespace: ns.name,
    name: hc.name,
    requiresClientAuthorization: hc.requiresClientAuthorization,
    ...(hc.userMetadata !== undefined ? {userMetadata: hc.userMetadata} : {}),
    createdAt: hc.createdAt,
    updatedAt: hc.updatedAt,
    rules: hc.rules.map((r) => ({...r, rights: [...r.rights]})),
    namespaceRules: ns.rules.map((r) => ({...r, rights: [...r.rights]})),
  }
}
