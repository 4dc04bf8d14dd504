// Loopback datagrams/s: Bun.udpSocket vs the native path (sendmmsg -> recvmmsg, receive
// thread + ring, GSO -> GRO). A plain timed loop per scenario (BENCH_MS each, default
// 2000), one process, sender on the JS thread; the figure is datagrams RECEIVED per
// second (what got through), with kernel crossings per datagram on both sides.
//   ./scripts/bun bench/native-udp.bench.ts            (BENCH_MS=1000 for a quick run)
import { crc32cTypeScript } from "../src/native/crc32c.ts";
import { encodeAddress } from "../src/native/address.ts";
import { NativeReceiver } from "../src/native/receiver.ts";
import { NativeSender } from "../src/native/sender.ts";
import { BatchReceiveBuffer, openUdpSocket } from "../src/native/udp.ts";

const durationMs = Number(process.env.BENCH_MS ?? 2000);
const rows: string[] = [];

function template(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length - 4; i++) bytes[i] = i & 0xff;
  new DataView(bytes.buffer).setUint32(length - 4, crc32cTypeScript(bytes.subarray(0, length - 4)), true);
  return bytes;
}

function report(name: string, payloadBytes: number, received: number, sent: number, elapsedMs: number, sendSyscalls: number, receiveSyscalls: number, note = ""): void {
  const perSecond = (received / elapsedMs) * 1000;
  const row = `| ${name} | ${payloadBytes} | ${Math.round(perSecond).toLocaleString("en-US")} | ${((perSecond * payloadBytes * 8) / 1e9).toFixed(2)} | ` +
    `${sent > 0 ? ((1 - received / sent) * 100).toFixed(1) : "-"}% | ${sendSyscalls > 0 ? (sent / sendSyscalls).toFixed(1) : "-"} | ` +
    `${receiveSyscalls > 0 ? (received / receiveSyscalls).toFixed(1) : "-"} | ${note} |`;
  rows.push(row);
  console.log(row);
}

async function benchBunUdpSocket(payloadBytes: number, burst: number): Promise<void> {
  let received = 0;
  const receiver = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() { received++; } } });
  const sender = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const payload = template(payloadBytes);
  const packets: (Uint8Array | number | string)[] = [];
  for (let i = 0; i < burst; i++) packets.push(payload, receiver.port, "127.0.0.1");
  let sent = 0;
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    for (let k = 0; k < 4; k++) { sent += sender.sendMany(packets); calls++; }
    await new Promise((resolve) => setImmediate(resolve)); // let data() callbacks run
  }
  const elapsed = performance.now() - started;
  await Bun.sleep(20);
  report(`Bun.udpSocket sendMany(${burst}) -> data()`, payloadBytes, received, sent, elapsed, calls, 0, "receive syscalls not visible");
  receiver.close();
  sender.close();
}

function stageBurst(sender: NativeSender, payload: Uint8Array, count: number, to: Uint8Array): number {
  let staged = 0;
  for (; staged < count; staged++) {
    const offset = sender.slotOffset();
    if (offset < 0) break;
    sender.staging.set(payload, offset);
    sender.commit(payload.length, to, 0);
  }
  return staged;
}

function benchBatchNoThread(payloadBytes: number, gso: boolean): void {
  const rx = openUdpSocket({ host: "127.0.0.1", port: 0, recvBufferBytes: 16 << 20, gro: gso });
  const tx = openUdpSocket({ host: "127.0.0.1", port: 0, sendBufferBytes: 16 << 20 });
  const sender = new NativeSender(tx, { slots: 4096, slotBytes: Math.max(payloadBytes, 64), gso });
  const batch = new BatchReceiveBuffer(rx, 64, gso ? 65536 : 2048);
  const to = new Uint8Array(20);
  encodeAddress("127.0.0.1", rx.localPort, to, 0);
  const payload = template(payloadBytes);
  let received = 0;
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    stageBurst(sender, payload, gso ? 1024 : 64, to);
    sender.flush();
    for (let round = 0; round < 64; round++) {
      const count = batch.receive();
      if (count === 0) break;
      received += count;
    }
  }
  const elapsed = performance.now() - started;
  const counters = sender.counters();
  report(
    gso ? "native GSO sendmmsg -> GRO recvmmsg (one thread)" : "native sendmmsg(64) -> recvmmsg(64) (one thread)",
    payloadBytes, received, counters.datagramsSent, elapsed, counters.syscalls, batch.syscalls,
    gso ? `GSO messages ${counters.gsoMessages}, GRO buffers ${batch.buffersReceived}` : "",
  );
  sender.close();
  batch.free();
  tx.close();
  rx.close();
}

async function benchReceiveThread(payloadBytes: number, gso: boolean): Promise<void> {
  const rx = openUdpSocket({ host: "127.0.0.1", port: 0, recvBufferBytes: 16 << 20, gro: gso });
  const tx = openUdpSocket({ host: "127.0.0.1", port: 0, sendBufferBytes: 16 << 20 });
  const sender = new NativeSender(tx, { slots: 4096, slotBytes: Math.max(payloadBytes, 64), gso });
  const receiver = new NativeReceiver(rx, { ringSlots: 16384, slots: gso ? 1024 : 16384, batchSize: 64, verifyChecksum: true, onReadable: () => {} });
  receiver.start();
  const to = new Uint8Array(20);
  encodeAddress("127.0.0.1", rx.localPort, to, 0);
  const payload = template(payloadBytes);
  let received = 0;
  let checksumOk = 0;
  const visit = (_buf: Uint8Array, _offset: number, _length: number, _addrBuf: Uint8Array, _addrOffset: number, ok: boolean) => {
    if (ok) checksumOk++;
  };
  const started = performance.now();
  let rounds = 0;
  while (performance.now() - started < durationMs) {
    stageBurst(sender, payload, gso ? 1024 : 64, to);
    sender.flush();
    received += receiver.drain(visit, 16384);
    if (++rounds % 256 === 0) await new Promise((resolve) => setImmediate(resolve)); // doorbells
  }
  await Bun.sleep(20);
  received += receiver.drain(visit, 1 << 20);
  const elapsed = performance.now() - started;
  receiver.stop();
  const counters = sender.counters();
  const rxCounters = receiver.counters();
  report(
    gso ? "native GSO sendmmsg -> GRO rx thread + ring" : "native sendmmsg(64) -> rx thread + ring",
    payloadBytes, received, counters.datagramsSent, elapsed, counters.syscalls, rxCounters.syscallsReceive,
    `CRC ok ${checksumOk === received ? "all" : `${checksumOk}/${received}`}, ring-full drops ${rxCounters.dropsRingFull}, ` +
      `no-slot drops ${rxCounters.dropsNoSlot}, polls ${rxCounters.polls}${gso ? `, GRO buffers ${rxCounters.groBuffers}` : ""}`,
  );
  sender.close();
  tx.close();
  rx.close();
}

console.log(`native UDP loopback bench, ${durationMs} ms per scenario, ${new Date().toISOString()}`);
console.log("| scenario | payload B | received datagrams/s | Gbit/s | lost | sent per send syscall | received per receive syscall | notes |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const payloadBytes of [64, 1200]) {
  await benchBunUdpSocket(payloadBytes, 64);
  benchBatchNoThread(payloadBytes, false);
  await benchReceiveThread(payloadBytes, false);
  benchBatchNoThread(payloadBytes, true);
  await benchReceiveThread(payloadBytes, true);
}
process.exit(0);
