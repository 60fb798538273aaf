import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy that can lose an answer: once armed, the first connection whose client sends `pattern` has
 * it passed on, and as soon as the server answers, both sides are cut without that answer reaching the
 * client. For PostgreSQL and a `COMMIT`: the server committed, the client never hears so (an "in doubt"
 * commit, as when a network or a failover drops the connection at that moment).
 */
export interface TcpCutProxy {
  /** `127.0.0.1:<port>` to put in a URL in place of the server's address. */
  readonly address: string;
  /** Cuts the next connection that sends `pattern`, once. */
  arm(pattern: Buffer): void;
  /** Connections cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

export async function startTcpCutProxy(upstreamHost: string, upstreamPort: number): Promise<TcpCutProxy> {
  let armed: Buffer | null = null;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    let cutting = false;
    client.on('data', (chunk: Buffer) => {
      if (armed !== null && chunk.includes(armed)) {
        armed = null;
        cutting = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutting) {
        client.write(chunk);
        return;
      }
      cuts++;
      upstream.destroy();
      client.resetAndDestroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    arm: (pattern) => {
      armed = pattern;
    },
    cuts: () => cuts,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** PostgreSQL's simple-query message for `sql` ('Q', its length, the text, a NUL), as the client sends it. */
export function pgSimpleQuery(sql: string): Buffer {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('Q', 0, 'latin1');
  head.writeInt32BE(text.length + 4, 1);
  return Buffer.concat([head, text]);
}
