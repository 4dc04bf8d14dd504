// A handshake flood from many source addresses on 127.0.0.0/8: every socket binds its own
// 127.x.y.z (all of 127/8 is local on Linux) and fires valid 1200-byte INITIALs, each with a
// fresh connection ID, as fast as the kernel takes them. Bounded by sockets, datagrams and
// seconds. Prints one JSON line with what was sent and what came back.
//
//   bun tools/fuzz/handshakeFlood.ts --port 7700 [--host 127.0.0.1] [--sockets 64]
//       [--seconds 3] [--max-datagrams 3000000]
// SIGTERM or SIGINT ends the flood early; the JSON line is still printed.
import type { udp } from "bun";
import { parseArgs } from "node:util";
import { craftInitial, PacketType, randomConnectionId } from "./wireCraft.ts";

export interface FloodOptions {
  host: string;
  port: number;
  sockets: number;
  seconds: number;
  maxDatagrams: number;
  /** Polled between batches: true ends the flood early (the CLI sets it on SIGTERM/SIGINT). */
  stopRequested?: () => boolean;
}

export interface FloodResult {
  sockets: number;
  sourceAddresses: number;
  datagramsSent: number;
  bytesSent: number;
  sendRefused: number;
  seconds: number;
  datagramsPerSecond: number;
  repliesReceived: number;
  replyBytesReceived: number;
  retriesReceived: number;
  handshakesReceived: number;
  socketErrors: number;
}

/** INITIALs prepared up front and reused round-robin (fresh connection IDs per template). */
const TEMPLATES = 1024;
const BATCH = 64;

function sourceAddress(index: number): string {
  // 127.10.x.y: away from 127.0.0.1 where the server and the legitimate client live.
  return `127.10.${(index >>> 8) & 0xff}.${(index & 0xff) || 1}`;
}

export async function runHandshakeFlood(options: FloodOptions): Promise<FloodResult> {
  const result: FloodResult = {
    sockets: options.sockets,
    sourceAddresses: options.sockets,
    datagramsSent: 0,
    bytesSent: 0,
    sendRefused: 0,
    seconds: 0,
    datagramsPerSecond: 0,
    repliesReceived: 0,
    replyBytesReceived: 0,
    retriesReceived: 0,
    handshakesReceived: 0,
    socketErrors: 0,
  };
  const sockets: udp.Socket<"uint8array">[] = [];
  for (let i = 0; i < options.sockets; i++) {
    sockets.push(
      await Bun.udpSocket({
        hostname: sourceAddress(i + 1),
        port: 0,
        binaryType: "uint8array",
        socket: {
          data(_socket, data) {
            result.repliesReceived++;
            result.replyBytesReceived += data.length;
            if (data[0] === PacketType.retry) result.retriesReceived++;
            if (data[0] === PacketType.handshake) result.handshakesReceived++;
          },
          error() {
            result.socketErrors++; // e.g. ICMP port unreachable when the server is gone
          },
        },
      }),
    );
  }
  const templates = Array.from({ length: TEMPLATES }, () => craftInitial(randomConnectionId(), null));
  const batch: (Uint8Array | number | string)[] = [];
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let template = 0;
  let turn = 0;
  while (result.datagramsSent < options.maxDatagrams && performance.now() < deadline && !(options.stopRequested?.() ?? false)) {
    const socket = sockets[turn++ % sockets.length]!;
    batch.length = 0;
    for (let i = 0; i < BATCH; i++) {
      batch.push(templates[template]!, options.port, options.host);
      template = (template + 1) % TEMPLATES;
    }
    const sent = socket.sendMany(batch);
    result.datagramsSent += sent;
    result.bytesSent += sent * templates[0]!.length;
    result.sendRefused += BATCH - sent;
    // Let replies in now and then, so the receive side does not overflow unseen.
    if (turn % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  result.seconds = (performance.now() - started) / 1000;
  result.datagramsPerSecond = Math.round(result.datagramsSent / result.seconds);
  await Bun.sleep(200); // the last replies
  for (const socket of sockets) socket.close();
  return result;
}

export interface ChurnResult {
  sources: number;
  datagramsSent: number;
  seconds: number;
  sourcesPerSecond: number;
}

/**
 * Source churn: `sources` distinct (address, port) pairs, 64 sockets at a time, each sending
 * one INITIAL and closing; more sources than any per-source table may hold (the transports'
 * address caches hold 65,536). Addresses 127.11-74.x.y, so ports never run out.
 */
export async function runSourceChurn(host: string, port: number, sources: number, secondsMax: number, sourcesPerSecondMax = 0): Promise<ChurnResult> {
  const initial = craftInitial(randomConnectionId(), null);
  const started = performance.now();
  let sent = 0;
  for (let round = 0; sent < sources && performance.now() - started < secondsMax * 1000; round++) {
    const batch = Math.min(CHURN_SOCKETS, sources - sent);
    const sockets = await Promise.all(
      Array.from({ length: batch }, (_, i) =>
        Bun.udpSocket({ hostname: `127.${11 + ((round >>> 8) & 0x3f)}.${round & 0xff}.${i + 1}`, port: 0, socket: { error() {} } }),
      ),
    );
    for (const socket of sockets) if (socket.send(initial, port, host)) sent++;
    for (const socket of sockets) socket.close();
    if (sourcesPerSecondMax > 0) {
      const aheadMs = (sent / sourcesPerSecondMax) * 1000 - (performance.now() - started);
      if (aheadMs > 0) await Bun.sleep(aheadMs);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { sources: sent, datagramsSent: sent, seconds, sourcesPerSecond: Math.round(sent / seconds) };
}

const CHURN_SOCKETS = 64;

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      sockets: { type: "string", default: "64" },
      seconds: { type: "string", default: "3" },
      "max-datagrams": { type: "string", default: "3000000" },
    },
  });
  if (!values.port) {
    console.error("handshakeFlood: --port <udp port of the server> is required");
    process.exit(2);
  }
  let stop = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => (stop = true));
  const result = await runHandshakeFlood({
    stopRequested: () => stop,
    host: values.host!,
    port: Number(values.port),
    sockets: Math.min(1024, Number(values.sockets)),
    seconds: Math.min(600, Number(values.seconds)),
    maxDatagrams: Number(values["max-datagrams"]),
  });
  console.log(JSON.stringify(result));
}
