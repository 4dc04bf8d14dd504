// Raw UDP: one connected Bun.udpSocket per "connection", one message per datagram, no
// reliability. The baseline for what the kernel and Bun's socket layer cost.

import type { udp } from "bun";
import type { ClientConnection, ConnectionHandlers, SystemClient } from "./types.ts";

class UdpConnection implements ClientConnection {
  constructor(private readonly socket: udp.ConnectedSocket<"uint8array">) {}

  send(data: Uint8Array): boolean {
    return this.socket.send(data);
  }

  flush(): void {}

  close(): void {
    this.socket.close();
  }
}

export class UdpSystemClient implements SystemClient {
  async connect(host: string, port: number, handlers: ConnectionHandlers): Promise<ClientConnection> {
    const socket = await Bun.udpSocket({
      hostname: host.includes(":") ? "::1" : "127.0.0.1",
      binaryType: "uint8array",
      connect: { hostname: host, port },
      socket: {
        data: (_socket, data) => handlers.onMessage(data),
        drain: () => handlers.onDrain(),
        error: (_socket, error) => handlers.onClose(error),
      },
    });
    return new UdpConnection(socket);
  }

  transportStats(): null {
    return null;
  }

  close(): void {}
}
