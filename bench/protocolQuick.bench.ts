// Quick transfer figure without mitata: N 64-byte messages through the same loop as
// bench/protocol.bench.ts, reported per wall second and per CPU-second of this process.
// Run: N=3000000 ./scripts/bun bench/protocolQuick.bench.ts
import { Transfer } from "./protocolTransfer.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

const messages = Number(process.env.N ?? 3_000_000);
const transfer = new Transfer(true);
const payload = new Uint8Array(64);
transfer.run(200_000, payload); // JIT warm-up
const wall0 = performance.now();
const cpu0 = process.cpuUsage();
transfer.run(messages, payload);
const wallMs = performance.now() - wall0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  `${messages} messages: ${((messages / wallMs) * 1000 / 1e6).toFixed(2)} M msg/s wall, ` +
    `${((messages / cpuMs) * 1000 / 1e6).toFixed(2)} M msg/s per CPU-second, ` +
    `${transfer.client.counters.datagramsSent} datagrams client->server`,
);
