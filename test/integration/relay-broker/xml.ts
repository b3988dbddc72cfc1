/**
 * A strict little XML reader for tests (elements, attributes, text, the five entities): enough
 * to check that the management GET answers well-formed XML in the shape .NET reads. Throws on
 * anything malformed (mismatched tags, stray '<', trailing content).
 */
export interface XmlElement {
  name: string
  attributes: Record<string, string>
  children: XmlElement[]
  text: string
}

const ENTITIES: Record<string, string> = {lt: '<', gt: '>', amp: '&', apos: "'", quot: '"'}

function decode(text: string): string {
  return text.replace(/&(lt|gt|amp|apos|quot);/g, (_m, e: string) => ENTITIES[e]!).replace(/&[^;]*;/g, () => {
    throw new Error('unknown entity')
  })
}

export function parseXml(input: string): XmlElement {
  let i = 0
  const src = input.replace(/^<\?xml[^?]*\?>\s*/, '')
  function element(): XmlElement {
    const open = /^<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*(\/?)>/.exec(src.slice(i))
    if (!open) throw new Error(`expected an element at ${i}`)
    i += open[0].length
    const attributes: Record<string, string> = {}
    for (const m of open[2]!.matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)) attributes[m[1]!] = decode(m[2]!)
    const el: XmlElement = {name: open[1]!, attributes, children: [], text: ''}
    if (open[3] === '/') return el
    for (;;) {
      const close = `</${el.name}>`
      if (src.startsWith(close, i)) {
        i += close.length
        return el
      }
      if (src.startsWith('</', i)) throw new Error(`mismatched close tag at ${i}`)
      if (src[i] === '<') {
        el.children.push(element())
        continue
      }
      const next = src.indexOf('<', i)
      if (next === -1) throw new Error('unterminated element')
      el.text += decode(src.slice(i, next))
      i = next
    }
  }
  const root = element()
  if (src.slice(i).trim() !== '') throw new Error('content after the root element')
  return root
}

export function child(el: XmlElement, name: string): XmlElement {
  const found = el.children.find((c) => c.name === name)
  if (!found) throw new Error(`no <${name}> in <${el.name}>`)
  return found
}
