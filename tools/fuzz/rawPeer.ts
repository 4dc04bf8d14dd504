// A raw UDP peer on Bun.udpSocket that speaks RUDP by hand (wireCraft.ts) and counts every
// byte both ways: the "attacker" of the hardening tests and the fuzzer's corpus builder.
import type { udp } from "bun";
import {
  craftData,
  craftInitial,
  parseLong,
  PacketType,
  randomConnectionId,
  retryCookie,
  type ConnectionId,
} from "./wireCraft.ts";

/** Received datagrams kept for inspection; older ones are dropped beyond this. */
const INBOX_MAX = 4096;

export interface Target {
  host: string;
  port: number;
}

export class RawPeer {
  bytesSent = 0;
  datagramsSent = 0;
  bytesReceived = 0;
  datagramsReceived = 0;
  inboxDropped = 0;
  socketErrors = 0;
  readonly inbox: Uint8Array[] = [];
  private waiter: (() => void) | null = null;

  private constructor(
    readonly socket: udp.Socket<"uint8array">,
    readonly target: Target,
  ) {}

  /** Binds `localHost` (any 127/8 address on Linux) on an ephemeral port. */
  static async open(target: Target, localHost = "127.0.0.1"): Promise<RawPeer> {
    let peer: RawPeer | null = null;
    const socket = await Bun.udpSocket({
      hostname: localHost,
      port: 0,
      binaryType: "uint8array",
      socket: {
        data(_socket, data) {
          peer?.receive(data);
        },
        error() {
          if (peer) peer.socketErrors++;
        },
      },
    });
    peer = new RawPeer(socket, target);
    return peer;
  }

  get localPort(): number {
    return this.socket.port;
  }

  private receive(data: Uint8Array): void {
    this.bytesReceived += data.length;
    this.datagramsReceived++;
    if (this.inbox.length >= INBOX_MAX) {
      this.inbox.shift();
      this.inboxDropped++;
    }
    this.inbox.push(data.slice());
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Returns false when the kernel refused the datagram (buffer full). */
  send(datagram: Uint8Array): boolean {
    const ok = this.socket.send(datagram, this.target.port, this.target.host);
    if (ok) {
      this.bytesSent += datagram.length;
      this.datagramsSent++;
    }
    return ok;
  }

  /** Takes the first received datagram matching `match`, waiting up to `timeoutMs`. */
  async take(match: (datagram: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

export interface RawConnection {
  peer: RawPeer;
  /** Our connection ID (the server writes it as destination). */
  client: ConnectionId;
  /** The server's connection ID (we write it as destination). */
  server: ConnectionId;
  cookie: Uint8Array;
  nextPacketNumber: number;
}

/** INITIAL -> RETRY(cookie) -> INITIAL(cookie) -> HANDSHAKE, by hand. Throws with what was missing. */
export async function rawHandshake(peer: RawPeer, timeoutMs = 2000): Promise<RawConnection> {
  const client = randomConnectionId();
  peer.send(craftInitial(client, null));
  const retry = await peer.take((d) => d[0] === PacketType.retry, timeoutMs);
  if (retry === null) throw new Error(`no RETRY within ${timeoutMs} ms (received ${peer.datagramsReceived} datagrams)`);
  const parsedRetry = parseLong(retry);
  const cookie = parsedRetry ? retryCookie(parsedRetry) : null;
  if (cookie === null) throw new Error("RETRY without a readable cookie");
  peer.send(craftInitial(client, cookie));
  const handshake = await peer.take((d) => d[0] === PacketType.handshake, timeoutMs);
  if (handshake === null) throw new Error(`no HANDSHAKE within ${timeoutMs} ms after the cookie echo`);
  const parsed = parseLong(handshake)!;
  return { peer, client, server: parsed.source, cookie, nextPacketNumber: 0 };
}

/** Sends one DATA packet with `frames` on a raw connection. */
export function sendFrames(connection: RawConnection, frames: Uint8Array): Uint8Array {
  const datagram = craftData(connection.server, connection.nextPacketNumber++, frames);
  connection.peer.send(datagram);
  return datagram;
}
