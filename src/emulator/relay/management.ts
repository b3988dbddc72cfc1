import type {RelayEntity} from '../contracts.js'
import {MANAGEMENT_API_VERSION} from '../../lib/relay/protocol.js'

/**
 * The runtime management GET (relay-protocol.md §7.2): `GET https://{ns}/{hc}?api-version=2016-07`
 * answers an Atom entry whose content is a `HybridConnectionDescription`. The .NET
 * DataContractSerializer reads its children in order: CreatedAt, UpdatedAt,
 * RequiresClientAuthorization, UserMetadata, ListenerCount.
 */

export const ATOM_NS = 'http://www.w3.org/2005/Atom'
export const CONNECT_NS = 'http://schemas.microsoft.com/netservices/2010/10/servicebus/connect'

export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '').replace(/[<>&'"]/g, (c) => `&${{'<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot'}[c]};`)
}

export function hybridConnectionEntryXml(entity: RelayEntity, namespaceHost: string, listenerCount: number): string {
  const self = `https://${namespaceHost}/${entity.name}?api-version=${MANAGEMENT_API_VERSION}`
  const metadata = entity.userMetadata === undefined ? '' : `<UserMetadata>${escapeXml(entity.userMetadata)}</UserMetadata>`
  return (
    `<entry xmlns="${ATOM_NS}">` +
    `<id>${escapeXml(self)}</id>` +
    `<title type="text">${escapeXml(entity.name)}</title>` +
    `<published>${escapeXml(entity.createdAt)}</published>` +
    `<updated>${escapeXml(entity.updatedAt)}</updated>` +
    `<author><name>${escapeXml(entity.namespace)}</name></author>` +
    `<link rel="self" href="${escapeXml(self)}"/>` +
    `<content type="application/xml">` +
    `<HybridConnectionDescription xmlns="${CONNECT_NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
    `<CreatedAt>${escapeXml(entity.createdAt)}</CreatedAt>` +
    `<UpdatedAt>${escapeXml(entity.updatedAt)}</UpdatedAt>` +
    `<RequiresClientAuthorization>${entity.requiresClientAuthorization}</RequiresClientAuthorization>` +
    metadata +
    `<ListenerCount>${listenerCount}</ListenerCount>` +
    `</HybridConnectionDescription>` +
    `</content>` +
    `</entry>`
  )
}

/** Service Bus style error body: `<Error><Code>404</Code><Detail>…</Detail></Error>`. */
export function managementErrorXml(status: number, detail: string): string {
  return `<Error><Code>${status}</Code><Detail>${escapeXml(detail)}</Detail></Error>`
}
