// TCP: Bun.connect with TCP_NODELAY set explicitly, length-prefixed frames, writes corked per
// event-loop tick (one write() per tick per connection, as a careful TCP application would).
// Backpressure: the outbox is bounded; send() returns false when it is full and onDrain fires
// once the kernel took the backlog.

import type { Socket } from "bun";
import { FrameDecoder, frameHeaderBytes, writeFrameHeader } from "./tcpFraming.ts";
import type { ClientConnection, ConnectionHandlers, SystemClient } from "./types.ts";

const outboxBytesMax = 4 << 20;
const frameBytesMax = 1 << 20;

class TcpConnection implements ClientConnection {
  socket: Socket<undefined> | null = null;
  private outbox = new Uint8Array(64 * 1024);
  private outboxLength = 0;
  private blocked = false;

  constructor(private readonly handlers: ConnectionHandlers) {}

  send(data: Uint8Array): boolean {
    const needed = frameHeaderBytes + data.length;
    if (this.outboxLength + needed > outboxBytesMax) {
      this.blocked = true;
      return false;
    }
    if (this.outboxLength + needed > this.outbox.length) {
      const grown = new Uint8Array(Math.min(outboxBytesMax, Math.max(this.outbox.length * 2, this.outboxLength + needed)));
      grown.set(this.outbox.subarray(0, this.outboxLength));
      this.outbox = grown;
    }
    writeFrameHeader(this.outbox, this.outboxLength, data.length);
    this.outbox.set(data, this.outboxLength + frameHeaderBytes);
    this.outboxLength += needed;
    return true;
  }

  flush(): void {
    if (this.outboxLength === 0 || this.socket === null) return;
    const written = Math.max(0, this.socket.write(this.outbox.subarray(0, this.outboxLength)));
    this.outbox.copyWithin(0, written, this.outboxLength);
    this.outboxLength -= written;
  }

  drained(): void {
    this.flush();
    if (this.blocked && this.outboxLength < outboxBytesMax / 2) {
      this.blocked = false;
      this.handlers.onDrain();
    }
  }

  close(): void {
    this.socket?.end();
  }
}

export class TcpSystemClient implements SystemClient {
  async connect(host: string, port: number, handlers: ConnectionHandlers): Promise<ClientConnection> {
    const connection = new TcpConnection(handlers);
    const decoder = new FrameDecoder((payload) => handlers.onMessage(payload), frameBytesMax);
    const socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        open: (s) => {
          s.setNoDelay(true);
        },
        data: (s, data) => {
          if (!decoder.push(data)) s.end();
        },
        drain: () => connection.drained(),
        close: (_s, error) => handlers.onClose(error ?? null),
        error: (_s, error) => handlers.onClose(error),
      },
    });
    connection.socket = socket;
    return connection;
  }

  transportStats(): null {
    return null;
  }

  close(): void {}
}
