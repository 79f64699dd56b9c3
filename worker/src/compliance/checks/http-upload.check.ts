import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/client';
import { failed, passed, type ComplianceCheck } from '../compliance-check.js';
import { discoInfo, iq } from '../xmpp-exchange.js';

const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const SIZE = 256;

/**
 * XEP-0363: a slot from upload.<domain>, a PUT to it and a GET back, byte for byte, over HTTPS
 * verified against the upload service's name. The connection goes to the node's address (the
 * name need not resolve where the worker runs), at the port in the URL: the published one.
 */
export const httpUpload: ComplianceCheck = {
  id: 'xep0363-http-upload',
  run: async (context) => {
    const { target, waitMs } = context;
    const service = `upload.${target.domain}`;
    const info = await discoInfo(context.session, service, waitMs);
    if (!info.features.includes(NS_UPLOAD)) return failed('missing_feature', `${service} does not advertise ${NS_UPLOAD}`);
    const session = await context.open(context.users[0]);
    const content = randomBytes(SIZE);
    const answer = await iq(
      session,
      xml('iq', { type: 'get', to: service }, xml('request', { xmlns: NS_UPLOAD, filename: 'parley-compliance.bin', size: String(SIZE), 'content-type': 'application/octet-stream' })),
      waitMs,
      'slot_refused',
    );
    const slot = answer.getChild('slot', NS_UPLOAD);
    const put = slot?.getChild('put');
    const putUrl = put?.attrs.url;
    const getUrl = slot?.getChild('get')?.attrs.url;
    if (!put || !putUrl || !getUrl) return failed('no_slot', `the slot answer has no put and get URLs: ${answer.toString().slice(0, 300)}`);
    // Only the headers XEP-0363 §5 allows through.
    const allowed = new Set(['authorization', 'cookie', 'expires']);
    const headers = Object.fromEntries(put.getChildren('header').flatMap((h) => (allowed.has(String(h.attrs.name).toLowerCase()) ? [[String(h.attrs.name), h.getText()]] : [])));
    const exchange = { connectTo: target.host, ca: target.trustedCaPems, timeoutMs: waitMs, maxBodyBytes: SIZE * 4 };
    const sent = await context.tools.https({ ...exchange, method: 'PUT', url: putUrl, body: content, headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(SIZE) } });
    if (sent.status !== 201 && sent.status !== 200) return failed('put_failed', `PUT ${putUrl} answered ${sent.status}`);
    const got = await context.tools.https({ ...exchange, method: 'GET', url: getUrl });
    if (got.status !== 200) return failed('get_failed', `GET ${getUrl} answered ${got.status}`);
    if (!got.body.equals(content)) return failed('content_differs', `GET ${getUrl} returned ${got.body.length} bytes that differ from the ${SIZE} uploaded`);
    return passed(`${SIZE} bytes uploaded and fetched back intact from ${new URL(getUrl).host}`);
  },
};
