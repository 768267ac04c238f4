// Routes client-node's generated API classes (CoreV1Api, StorageV1Api, …) through our transport,
// so typed calls share the rate limit, timeout, keep-alive agent, User-Agent and metrics with
// raw requests and watches. Non-2xx answers are thrown as KubeApiError before the generated
// response processor sees them: one error type for every call, with the Status reason parsed
// (client-node would throw ApiException with the raw Status string for codes like 409 and 410).

import { ResponseContext, wrapHttpLibrary } from '@kubernetes/client-node';
import type { HttpLibrary, RequestContext } from '@kubernetes/client-node';
import { KubeApiError } from './errors.js';
import type { KubeTransport } from './transport.js';

export function transportHttpLibrary(transport: KubeTransport): HttpLibrary {
  return wrapHttpLibrary({
    async send(ctx: RequestContext): Promise<ResponseContext> {
      const url = new URL(ctx.getUrl());
      const body = ctx.getBody();
      const res = await transport.requestUrl(url, {
        method: ctx.getHttpMethod(),
        headers: { ...ctx.getHeaders() },
        body: body === undefined ? undefined : String(body),
        contentType: undefined,
        signal: ctx.getSignal(),
      });
      if (res.status < 200 || res.status > 299) {
        const ra = res.headers['retry-after'];
        throw KubeApiError.fromResponse(res.status, res.body, `${ctx.getHttpMethod()} ${url.pathname}`, Array.isArray(ra) ? ra[0] : ra);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const text = res.body;
      return new ResponseContext(res.status, headers, {
        text: () => Promise.resolve(text),
        binary: () => Promise.resolve(Buffer.from(text, 'utf8')),
        stream: () => null,
      });
    },
  });
}
