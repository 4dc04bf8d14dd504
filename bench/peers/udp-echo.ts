// Raw UDP peer: echoes every datagram to its sender (or only counts it with --sink).
//   bun bench/peers/udp-echo.ts [--host 127.0.0.1] [--port 0] [--sink]
// Prints {"listening":{"host","port"}} once bound; on SIGTERM prints its counters.

import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    sink: { type: "boolean", default: false },
  },
  strict: true,
});

let received = 0;
let echoed = 0;
let sendFailures = 0;
const sink = values.sink!;

const socket = await Bun.udpSocket({
  hostname: values.host!,
  port: Number(values.port),
  binaryType: "uint8array",
  socket: {
    data(s, data, port, address) {
      received++;
      if (sink) return;
      if (s.send(data, port, address)) echoed++;
      else sendFailures++;
    },
  },
});

console.log(JSON.stringify({ listening: { host: values.host, port: socket.port }, pid: process.pid }));

function stop(): void {
  console.log(JSON.stringify({ counters: { received, echoed, sendFailures } }));
  socket.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
