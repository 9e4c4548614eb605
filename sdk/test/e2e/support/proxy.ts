// A recording HTTP proxy in front of the ingest server. It can answer the next
// requests itself with an error status (as a failing server would, CORS headers
// included) or cut the connection, and it counts every event it forwarded.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Decoded request body. */
  body: string;
  /** Event ids in the body (POST only). */
  eventIds: string[];
  /** What the browser got: the server's status, the injected status, 'dropped', or 'pending' until then. */
  outcome: number | 'dropped' | 'pending';
  /** The server's JSON answer, when it answered. */
  response?: { accepted?: number; duplicates?: number; rejected?: number; results?: Array<{ status: string }> };
}

type Fault = { kind: 'status'; status: number; retryAfter?: number } | { kind: 'drop' };

export interface Proxy {
  url: string;
  requests: ProxiedRequest[];
  /** POST requests only. */
  posts(): ProxiedRequest[];
  /** POST requests, once every one of them has its outcome. */
  answeredPosts(): Promise<ProxiedRequest[]>;
  /** Answers the next `count` POSTs with `status` instead of forwarding them. */
  failNext(count: number, status: number, retryAfter?: number): void;
  /** Closes the connection of the next `count` POSTs without an answer. */
  dropNext(count: number): void;
  /** How many times each event id was forwarded to the server. */
  forwardedCopies(): Map<string, number>;
  inFlight(): number;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function eventIdsOf(body: string): string[] {
  try {
    const parsed = JSON.parse(body);
    return (Array.isArray(parsed) ? parsed : [parsed]).map((event) => event?.event_id).filter(Boolean);
  } catch {
    return [];
  }
}

export async function startProxy(target: string): Promise<Proxy> {
  const requests: ProxiedRequest[] = [];
  const faults: Fault[] = [];
  const copies = new Map<string, number>();
  let inFlight = 0;

  async function handle(request: IncomingMessage, response: ServerResponse) {
    inFlight++;
    try {
      const raw = await readBody(request);
      const body = (request.headers['content-encoding'] == 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const url = new URL(request.url!, 'http://proxy');
      const record: ProxiedRequest = {
        method: request.method!,
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        body,
        eventIds: request.method == 'POST' ? eventIdsOf(body) : [],
        outcome: 'pending',
      };
      requests.push(record);
      const fault = request.method == 'POST' ? faults.shift() : undefined;
      if (fault?.kind == 'drop') {
        record.outcome = 'dropped';
        request.socket.destroy();
        return;
      }
      if (fault?.kind == 'status') {
        record.outcome = fault.status;
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
        if (request.headers.origin) headers['access-control-allow-origin'] = request.headers.origin;
        if (fault.retryAfter != null) headers['retry-after'] = String(fault.retryAfter);
        response.writeHead(fault.status, headers);
        response.end(JSON.stringify({ error: { code: 'injected', message: 'injected by the test proxy' } }));
        return;
      }
      const headers = { ...request.headers };
      delete headers.host;
      const upstream = await fetch(target + request.url, { method: request.method, headers: headers as Record<string, string>, body: request.method == 'POST' ? new Uint8Array(raw) : undefined });
      const answer = Buffer.from(await upstream.arrayBuffer());
      record.outcome = upstream.status;
      if (upstream.status < 300) for (const id of record.eventIds) copies.set(id, (copies.get(id) ?? 0) + 1);
      try {
        record.response = JSON.parse(answer.toString('utf8'));
      } catch {}
      const responseHeaders: http.OutgoingHttpHeaders = {};
      upstream.headers.forEach((value, name) => {
        if (name != 'content-length' && name != 'transfer-encoding' && name != 'connection') responseHeaders[name] = value;
      });
      response.writeHead(upstream.status, responseHeaders);
      response.end(answer);
    } catch (error) {
      response.writeHead(502);
      response.end(String(error));
    } finally {
      inFlight--;
    }
  }

  const posts = () => requests.filter((r) => r.method == 'POST');
  const server = http.createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    posts,
    answeredPosts: async () => {
      while (posts().some((r) => r.outcome == 'pending')) await new Promise((resolve) => setTimeout(resolve, 50));
      return posts();
    },
    failNext: (count, status, retryAfter) => faults.push(...Array.from({ length: count }, () => ({ kind: 'status' as const, status, retryAfter }))),
    dropNext: (count) => faults.push(...Array.from({ length: count }, () => ({ kind: 'drop' as const }))),
    forwardedCopies: () => copies,
    inFlight: () => inFlight,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
