// Loopback datagrams/s: Bun.udpSocket vs the native path (sendmmsg -> recvmmsg, receive
// thread + ring, GSO -> GRO). A plain timed loop per scenario (BENCH_MS each, default
// 2000), one process, sender on the JS thread; the figure is datagrams RECEIVED per
// second (what got through), with kernel crossings per datagram on both sides.
//   ./scripts/bun bench/native-udp.bench.ts            (BENCH_MS=1000 for a quick run)
// Then a 64 B ping-pong against an echo child process (BENCH_PINGS round trips, 5000).
import { crc32cTypeScript } from "../src/native/crc32c.ts";
import { encodeAddress } from "../src/native/address.ts";
import { NativeReceiver } from "../src/native/receiver.ts";
import { NativeSender } from "../src/native/sender.ts";
import { BatchReceiveBuffer, openUdpSocket } from "../src/native/udp.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

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

async function benchReceiveThread(payloadBytes: number, gso: boolean, packSlab = true): Promise<void> {
  const rx = openUdpSocket({ host: "127.0.0.1", port: 0, recvBufferBytes: 16 << 20, gro: gso });
  const tx = openUdpSocket({ host: "127.0.0.1", port: 0, sendBufferBytes: 16 << 20 });
  const sender = new NativeSender(tx, { slots: 4096, slotBytes: Math.max(payloadBytes, 64), gso });
  const receiver = new NativeReceiver(rx, { ringSlots: 16384, slots: gso ? 1024 : 16384, batchSize: 64, verifyChecksum: true, packSlab, onReadable: () => {} });
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
    (gso ? "native GSO sendmmsg -> GRO rx thread + ring" : "native sendmmsg(64) -> rx thread + ring") + (packSlab ? "" : " (slab not packed)"),
    payloadBytes, received, counters.datagramsSent, elapsed, counters.syscalls, rxCounters.syscallsReceive,
    `CRC ok ${checksumOk === received ? "all" : `${checksumOk}/${received}`}, ring-full drops ${rxCounters.dropsRingFull}, ` +
      `no-slot drops ${rxCounters.dropsNoSlot}, polls ${rxCounters.polls}${gso ? `, GRO buffers ${rxCounters.groBuffers}` : ""}`,
  );
  sender.close();
  tx.close();
  rx.close();
}

// ---- ping-pong round trip against an echo in another process (wake-up latency) ------

/** Child mode: an echo on loopback; prints its port, echoes until killed. */
async function runEcho(kind: string): Promise<void> {
  if (kind === "bun") {
    const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data(s, data, port, address) { s.send(data, port, address); } } });
    console.log(socket.port);
    return;
  }
  const socket = openUdpSocket({ host: "127.0.0.1", port: 0 });
  const sender = new NativeSender(socket, { slots: 256, slotBytes: 2048, gso: false });
  let receiver: NativeReceiver;
  const visit = (buf: Uint8Array, offset: number, length: number, addrBuf: Uint8Array, addrOffset: number) => {
    const slot = sender.slotOffset();
    if (slot < 0) return;
    sender.staging.set(buf.subarray(offset, offset + length), slot);
    sender.commit(length, addrBuf, addrOffset);
  };
  receiver = new NativeReceiver(socket, {
    ringSlots: 256, verifyChecksum: false,
    onReadable: () => { while (receiver.drain(visit, 64) === 64) sender.flush(); sender.flush(); },
  });
  receiver.start();
  console.log(socket.localPort);
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function spawnEcho(kind: string): Promise<{ port: number; kill: () => void }> {
  const child = Bun.spawn([process.execPath, import.meta.path, "--echo", kind], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  for (let i = 0; i < 50 && !text.includes("\n"); i++) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  reader.releaseLock();
  return { port: Number(text.trim()), kill: () => child.kill() };
}

function reportRtt(name: string, rttsUs: number[], cpuMs: number, elapsedMs: number): void {
  rttsUs.sort((a, b) => a - b);
  const row = `| ${name} | ${rttsUs.length} | ${percentile(rttsUs, 0.5).toFixed(0)} | ${percentile(rttsUs, 0.99).toFixed(0)} | ` +
    `${percentile(rttsUs, 0.999).toFixed(0)} | ${((cpuMs / elapsedMs) * 100).toFixed(0)}% |`;
  rows.push(row);
  console.log(row);
}

async function pingPong(kind: "bun" | "native", count: number): Promise<void> {
  const echo = await spawnEcho(kind);
  const rttsUs: number[] = [];
  const payload = template(64);
  let sentAtNs = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => { done = resolve; });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  if (kind === "bun") {
    const socket = await Bun.udpSocket({
      hostname: "127.0.0.1", port: 0,
      socket: {
        data(s) {
          rttsUs.push((Bun.nanoseconds() - sentAtNs) / 1000);
          if (rttsUs.length >= count) return done();
          sentAtNs = Bun.nanoseconds();
          s.send(payload, echo.port, "127.0.0.1");
        },
      },
    });
    sentAtNs = Bun.nanoseconds();
    socket.send(payload, echo.port, "127.0.0.1");
    await Promise.race([finished, Bun.sleep(15_000)]);
    socket.close();
  } else {
    const socket = openUdpSocket({ host: "127.0.0.1", port: 0 });
    const sender = new NativeSender(socket, { slots: 16, slotBytes: 256, gso: false });
    const to = new Uint8Array(20);
    encodeAddress("127.0.0.1", echo.port, to, 0);
    const ping = () => {
      sender.staging.set(payload, sender.slotOffset());
      sender.commit(payload.length, to, 0);
      sentAtNs = Bun.nanoseconds();
      sender.flush();
    };
    let replies = 0;
    const visit = () => { replies++; };
    let receiver: NativeReceiver;
    receiver = new NativeReceiver(socket, {
      ringSlots: 64, verifyChecksum: true,
      onReadable: () => {
        replies = 0;
        receiver.drain(visit, 64);
        if (replies === 0) return;
        rttsUs.push((Bun.nanoseconds() - sentAtNs) / 1000);
        if (rttsUs.length >= count) return done();
        ping();
      },
    });
    receiver.start();
    ping();
    await Promise.race([finished, Bun.sleep(15_000)]);
    receiver.stop();
    sender.close();
    socket.close();
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  echo.kill();
  reportRtt(kind === "bun" ? "Bun.udpSocket <-> Bun.udpSocket echo" : "native rx thread + doorbell <-> native echo", rttsUs, (cpu.user + cpu.system) / 1000, elapsed);
}

if (process.argv[2] === "--echo") {
  await runEcho(process.argv[3]!);
} else {
  console.log(`native UDP loopback bench, ${durationMs} ms per scenario, ${new Date().toISOString()}`);
  console.log("| scenario | payload B | received datagrams/s | Gbit/s | lost | sent per send syscall | received per receive syscall | notes |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const payloadBytes of process.env.BENCH_ONLY === "pingpong" ? [] : [64, 1200]) {
    await benchBunUdpSocket(payloadBytes, 64);
    benchBatchNoThread(payloadBytes, false);
    await benchReceiveThread(payloadBytes, false);
    benchBatchNoThread(payloadBytes, true);
    await benchReceiveThread(payloadBytes, true);
    await benchReceiveThread(payloadBytes, true, false);
  }
  const pings = Number(process.env.BENCH_PINGS ?? 5000);
  console.log("\nping-pong, 64 B, echo in another process (RTT in us; CPU = this process's CPU / wall)");
  console.log("| pair | round trips | p50 us | p99 us | p99.9 us | CPU |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  await pingPong("bun", pings);
  await pingPong("native", pings);
  process.exit(0);
}
