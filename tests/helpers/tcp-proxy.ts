import net from 'node:net';

/**
 * A loopback TCP proxy in front of a real service, so a test can take the
 * service away from one server (refused connections, as when Redis is down or
 * unreachable) and bring it back, without disturbing anyone else using it.
 */
export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
  /** `serviceUrl` (a URL of the proxied service) pointed at the proxy instead. */
  url(serviceUrl: string | URL): string;
  /** Resolves once the proxy has accepted `count` more connections. */
  nextConnections(count?: number): Promise<void>;
}

export interface TcpProxyOptions {
  /**
   * The service's first bytes to each connection are held back this long (then
   * passed on in order): the client stays in its connection handshake, waiting
   * for the answers, for a known while.
   */
  holdRepliesMs?: number;
}

export async function startTcpProxy(targetHost: string, targetPort: number, { holdRepliesMs = 0 }: TcpProxyOptions = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  let waiting: Array<{ remaining: number; resolve: () => void }> = [];
  const server = net.createServer((client) => {
    for (const waiter of waiting) if ((waiter.remaining -= 1) === 0) waiter.resolve();
    waiting = waiting.filter((waiter) => waiter.remaining > 0);
    const upstream = net.connect(targetPort, targetHost);
    track(client);
    track(upstream);
    client.pipe(upstream);
    if (holdRepliesMs > 0) holdThenPipe(upstream, client, holdRepliesMs);
    else upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = async () => {
    const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cut: stop,
    restore: () => listen(port),
    close: stop,
    url(serviceUrl) {
      const url = new URL(serviceUrl.toString());
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    nextConnections: (count = 1) => new Promise<void>((resolve) => waiting.push({ remaining: count, resolve })),
  };
}

/** Pipes `from` into `to`, except that what arrives in the first `ms` is held and written, in order, only then. */
function holdThenPipe(from: net.Socket, to: net.Socket, ms: number): void {
  const held: Buffer[] = [];
  const hold = (chunk: Buffer) => held.push(chunk);
  from.on('data', hold);
  setTimeout(() => {
    from.off('data', hold);
    if (to.destroyed) return;
    for (const chunk of held) to.write(chunk);
    from.pipe(to);
  }, ms);
}
