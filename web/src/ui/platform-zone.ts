/** The platform's DNS zone, which the API writes into index.html (api/src/web/index-html.ts). */
export function platformZone(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="parley-platform-zone"]')?.content ?? '';
}
