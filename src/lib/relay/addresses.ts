/** A URL fit for a log line: the query (which may hold a token or a rendezvous capability) dropped. */
export function safeUrl(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
