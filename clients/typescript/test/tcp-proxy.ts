// A TCP proxy in front of the test server, to cut the network under a live client: drop() kills
// every open connection (no close frame: the client sees 1006), block() refuses new ones until
// unblock(), as a laptop that lost its network would.
import net from "node:net";

export interface TcpProxy {
  /** http://127.0.0.1:PORT/graphql of the proxy. */
  graphqlUrl: string;
  /** Connections accepted and forwarded so far. */
  readonly accepted: number;
  drop(): void;
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  let blocked = false;
  let accepted = 0;
  const server = net.createServer((inbound) => {
    if (blocked) {
      inbound.resetAndDestroy();
      return;
    }
    accepted += 1;
    const outbound = net.connect(Number(port), hostname);
    for (const socket of [inbound, outbound]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as net.AddressInfo;
  return {
    graphqlUrl: `http://127.0.0.1:${address.port}/graphql`,
    get accepted() {
      return accepted;
    },
    drop() {
      for (const socket of open) socket.resetAndDestroy();
    },
    block() {
      blocked = true;
    },
    unblock() {
      blocked = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
