// Timer cost with many connections: a server engine holding 10,000 idle connections, then
// pollTimeout() (nothing touched) and one datagram + pollTimeout() (one connection touched).
// Run: ./scripts/bun bench/protocolConnections.bench.ts
import { bench, do_not_optimize, run } from "mitata";
import { createEngine, type PeerAddress, type TransmitInfo } from "../src/protocol/index.ts";
import { crc32c, crc32cPrefix } from "./protocolTransfer.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

const CONNECTIONS = 10_000;
let seed = 7;
const randomBytes = (out: Uint8Array) => {
  for (let i = 0; i < out.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out[i] = seed >>> 24;
  }
};
const server = createEngine({ role: "server", maxConnections: CONNECTIONS }, { crc32c, crc32cPrefix, randomBytes });
const client = createEngine({ role: "client", maxConnections: CONNECTIONS }, { crc32c, crc32cPrefix, randomBytes });
const serverAddress: PeerAddress = { family: 4, host: "10.0.0.1", port: 4000 };
const clientAddress: PeerAddress = { family: 4, host: "10.0.0.2", port: 5000 };
const out = new Uint8Array(2048);
const info: TransmitInfo = { length: 0, to: null };
let nowUs = 1_000;
function exchange(): void {
  while (client.pollTransmit(nowUs, out, info)) server.handleDatagram(nowUs, out.slice(0, info.length), clientAddress);
  while (server.pollTransmit(nowUs, out, info)) client.handleDatagram(nowUs, out.slice(0, info.length), serverAddress);
  while (server.pollEvent() !== null);
  while (client.pollEvent() !== null);
  nowUs += 1_000;
}
const started = performance.now();
// In batches: the server queues at most 256 stateless replies between polls (a limit).
for (let batch = 0; batch < CONNECTIONS / 200; batch++) {
  for (let i = 0; i < 200; i++) client.connect(nowUs, serverAddress);
  for (let i = 0; i < 4; i++) exchange();
}
for (let i = 0; i < 20; i++) exchange();
console.log(`${server.counters.connectionsActive} server connections set up in ${(performance.now() - started).toFixed(0)} ms`);
if (server.counters.connectionsActive !== CONNECTIONS) throw new Error(`setup failed: ${JSON.stringify([server.counters.drops, server.counters.limitRefusals, server.counters.handshakesFailed, client.counters.drops, client.counters.handshakesFailed, client.counters.connectionsClosed])}`);

// One connection's ping, to touch exactly one connection per iteration.
const handle = 1;
bench(`pollTimeout(), ${CONNECTIONS} idle connections, none touched`, () => do_not_optimize(server.pollTimeout()));
bench(`send on one of ${CONNECTIONS} + pollTransmit + pollTimeout (client side)`, () => {
  client.send(handle, 0, out.subarray(0, 16));
  client.pollTransmit(nowUs, out, info);
  return do_not_optimize(client.pollTimeout());
});
await run();
