import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy in front of an S3-protocol server that injects faults, over real sockets:
 * - `status-500`: answers `500 InternalError` (S3's own words) without passing the request on;
 * - `reset-request`: resets the connection once the request's body started to arrive (a PUT cut mid-body);
 * - `reset-response`: passes the request on, then resets the connection halfway through the answer's body,
 *   or before its headers when it has none (a PUT: the object is stored, the client never hears so).
 */
export type Fault = 'status-500' | 'reset-request' | 'reset-response';

export interface FaultRule {
  fault: Fault;
  /** Requests of this method only (`PUT`, `GET`, `HEAD`…); any when unset. */
  method?: string;
  /** Requests whose path (query included, e.g. `/lake/home/staging/…`) matches; any when unset. */
  path?: RegExp;
  /**
   * Which distinct requests (method and path; a retry is the same request) the fault hits: the first N,
   * and/or every k-th. Neither set: every one.
   */
  first?: number;
  every?: number;
  /** How many attempts of a hit request fail before it passes (default 1; Infinity: it never passes). */
  failures?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: put it in ECLUSE_S3_ENDPOINT. */
  readonly endpoint: string;
  /** Replaces the rules and forgets which requests were seen. */
  setRules(rules: readonly FaultRule[]): void;
  /** Faults injected since the last `setRules`, by kind. */
  injected(): Record<Fault, number>;
  close(): Promise<void>;
}

/** A distinct request (method and path): the rule it drew on its first arrival, and its attempts so far. */
interface Seen {
  rule: FaultRule | null;
  attempts: number;
}

/**
 * Chooses once, on a request's first arrival, which rule (if any) hits it: the first whose filter matches and
 * whose selection (first N / every k-th of the requests its filter matched) takes it. Its retries then
 * fail `failures` times in all, whatever other rules say, so a fault never outlasts the client's retries
 * unless a rule says so.
 */
function draw(rules: readonly FaultRule[], matched: number[], req: IncomingMessage): FaultRule | null {
  let chosen: FaultRule | null = null;
  for (const [i, rule] of rules.entries()) {
    if (rule.method !== undefined && req.method !== rule.method) continue;
    if (rule.path !== undefined && !rule.path.test(req.url ?? '')) continue;
    const index = (matched[i] = (matched[i] ?? 0) + 1);
    const takes =
      (rule.first === undefined && rule.every === undefined) ||
      (rule.first !== undefined && index <= rule.first) ||
      (rule.every !== undefined && index % rule.every === 0);
    if (takes && chosen === null) chosen = rule;
  }
  return chosen;
}

const INTERNAL_ERROR =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>fault-proxy</RequestId></Error>';

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  let rules: readonly FaultRule[] = [];
  /** Per rule, how many distinct requests its filter matched. */
  let matched: number[] = [];
  let seen = new Map<string, Seen>();
  const injected: Record<Fault, number> = { 'status-500': 0, 'reset-request': 0, 'reset-response': 0 };
  const sockets = new Set<Socket>();

  const reset = (socket: Socket) => socket.resetAndDestroy();

  /** Passes the request on; `cut` resets the connection halfway through the answer's body. */
  const forward = (req: IncomingMessage, res: ServerResponse, cut: boolean) => {
    // Headers unchanged, Host included: the client signed them (SigV4), and the server checks the signature.
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (!cut) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const length = Number(answer.headers['content-length'] ?? 0);
      let sent = 0;
      const half = Math.floor(length / 2);
      if (half === 0) {
        // No body to cut (a PUT's answer): the server did the work, the client hears nothing of it.
        answer.resume();
        reset(req.socket);
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        if (sent >= half) return;
        const part = chunk.subarray(0, half - sent);
        sent += part.length;
        res.write(part);
        if (sent >= half) {
          answer.destroy();
          // Let the half reach the client before the reset.
          setTimeout(() => reset(req.socket), 20);
        }
      });
    });
    up.on('error', () => reset(req.socket));
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const id = `${req.method} ${req.url}`;
    let entry = seen.get(id);
    if (!entry) {
      entry = { rule: draw(rules, matched, req), attempts: 0 };
      seen.set(id, entry);
    }
    entry.attempts++;
    const fired = entry.rule && entry.attempts <= (entry.rule.failures ?? 1) ? entry.rule.fault : undefined;
    if (fired) injected[fired]++;
    switch (fired) {
      case 'status-500':
        req.resume();
        req.on('end', () => res.writeHead(500, { 'content-type': 'application/xml', 'x-amz-request-id': 'fault-proxy' }).end(INTERNAL_ERROR));
        return;
      case 'reset-request': {
        const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
        if (!hasBody) return reset(req.socket);
        req.once('data', () => reset(req.socket));
        return;
      }
      case 'reset-response':
        return forward(req, res, true);
      default:
        return forward(req, res, false);
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setRules(next) {
      rules = next;
      matched = [];
      seen = new Map();
      for (const k of Object.keys(injected) as Fault[]) injected[k] = 0;
    },
    injected: () => ({ ...injected }),
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
