// TCP peer: length-prefixed frames ([u32 LE length][payload]) echoed back frame by frame (or
// counted with --sink). TCP_NODELAY is set explicitly on every accepted socket; replies are
// corked per data callback (one write per callback), and a connection whose unread replies
// exceed a bound is closed and counted.
//   bun bench/peers/tcp-echo.ts [--host 127.0.0.1] [--port 0] [--sink]

import type { Socket } from "bun";
import { parseArgs } from "node:util";
import { FrameDecoder, frameHeaderBytes, writeFrameHeader } from "../loadgen/systems/tcpFraming.ts";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    sink: { type: "boolean", default: false },
  },
  strict: true,
});

const backlogBytesMax = 16 << 20;
const frameBytesMax = 1 << 20;
const sink = values.sink!;

interface PeerConnection {
  decoder: FrameDecoder;
  out: Uint8Array;
  outLength: number;
}

let framesReceived = 0;
let connectionsOpened = 0;
let backlogOverflows = 0;
let framingErrors = 0;

function append(connection: PeerConnection, payload: Uint8Array): void {
  const needed = connection.outLength + frameHeaderBytes + payload.length;
  if (needed > connection.out.length) {
    const grown = new Uint8Array(Math.max(connection.out.length * 2, needed));
    grown.set(connection.out.subarray(0, connection.outLength));
    connection.out = grown;
  }
  writeFrameHeader(connection.out, connection.outLength, payload.length);
  connection.out.set(payload, connection.outLength + frameHeaderBytes);
  connection.outLength = needed;
}

function flush(socket: Socket<PeerConnection>): void {
  const connection = socket.data;
  if (connection.outLength === 0) return;
  const written = Math.max(0, socket.write(connection.out.subarray(0, connection.outLength)));
  connection.out.copyWithin(0, written, connection.outLength);
  connection.outLength -= written;
}

const listener = Bun.listen<PeerConnection>({
  hostname: values.host!,
  port: Number(values.port),
  socket: {
    open(socket) {
      connectionsOpened++;
      socket.setNoDelay(true);
      const connection: PeerConnection = { decoder: null as unknown as FrameDecoder, out: new Uint8Array(16 * 1024), outLength: 0 };
      connection.decoder = new FrameDecoder((payload) => {
        framesReceived++;
        if (!sink) append(connection, payload);
      }, frameBytesMax);
      socket.data = connection;
    },
    data(socket, data) {
      if (!socket.data.decoder.push(data)) {
        framingErrors++;
        socket.end();
        return;
      }
      if (socket.data.outLength > backlogBytesMax) {
        backlogOverflows++;
        socket.end();
        return;
      }
      flush(socket);
    },
    drain(socket) {
      flush(socket);
    },
  },
});

console.log(JSON.stringify({ listening: { host: values.host, port: listener.port }, pid: process.pid }));

function stop(): void {
  console.log(JSON.stringify({ counters: { framesReceived, connectionsOpened, backlogOverflows, framingErrors } }));
  listener.stop(true);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
