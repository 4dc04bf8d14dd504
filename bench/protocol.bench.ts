// Protocol engine benchmarks: codec encode/decode, ACK processing with 1000 packets in
// flight, loss detection, and a single-connection transfer of 64-byte messages in virtual
// time (messages/s per core, plus a heap figure showing no per-message allocation).
// Run: ./scripts/bun bench/protocol.bench.ts        (results: bench/REPORT-protocol.md)
import { heapStats } from "bun:jsc";
import { bench, do_not_optimize, group, run } from "mitata";
import { LossDetection, type RecoveryHost } from "../src/protocol/recovery/lossDetection.ts";
import { SentFlag, SentPacketRing } from "../src/protocol/recovery/sentPackets.ts";
import { FrameReader, writeAck, writeMessageHeader } from "../src/protocol/wire/frames.ts";
import { writeDataHeader } from "../src/protocol/wire/dataHeader.ts";
import { DATA_HEADER_BYTES, DatagramChecksum, checksumMatches, sealDatagram } from "../src/protocol/wire/packet.ts";
import { crc32c, crc32cKernel, crc32cPrefix, Transfer } from "./protocolTransfer.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

const MESSAGES_PER_PACKET = 16;
const payload = new Uint8Array(64).map((_, i) => i);
const packet = new Uint8Array(1500);
/** The checksum an engine builds from these dependencies. */
const checksum = new DatagramChecksum(crc32c, crc32cPrefix);

function encodePacket(pn: number): number {
  let p = writeDataHeader(packet, 0x11223344, 0x55667788, pn);
  for (let m = 0; m < MESSAGES_PER_PACKET; m++) {
    p = writeMessageHeader(packet, p, 0, 1, pn * MESSAGES_PER_PACKET + m, 0, 1, 64, 64);
    packet.set(payload, p);
    p += 64;
  }
  return sealDatagram(packet, p, checksum);
}

const encodedLength = encodePacket(12345);
const encoded = packet.slice(0, encodedLength);
const frameReader = new FrameReader();

group("codec (DATA packet, 16 x 64 B messages)", () => {
  let pn = 0;
  bench("encode + CRC32C", () => do_not_optimize(encodePacket(pn++)));
  bench("verify CRC32C + decode frames", () => {
    if (!checksumMatches(encoded, checksum)) throw new Error("checksum");
    frameReader.reset(encoded, DATA_HEADER_BYTES, encoded.length - 4);
    let sum = 0;
    for (let type = frameReader.next(); type >= 0; type = frameReader.next()) sum += frameReader.payloadLength;
    return do_not_optimize(sum);
  });
});

class CountingHost implements RecoveryHost {
  acked = 0;
  lost = 0;
  onPacketAcked(): void {
    this.acked++;
  }
  onLostPacketAcked(): void {}
  onPacketLost(): void {
    this.lost++;
  }
  onPersistentCongestion(): void {}
}

const IN_FLIGHT = 1000;
function inFlight(): { loss: LossDetection; host: CountingHost } {
  const sent = new SentPacketRing(1024, 1 << 15);
  const loss = new LossDetection(sent);
  loss.peerMaxAckDelayUs = 2_000;
  const flags = SentFlag.ackEliciting | SentFlag.inFlight;
  for (let i = 0; i < IN_FLIGHT; i++) {
    sent.push(i * 10, 1200, flags, 0, 0);
    loss.onPacketSent(i * 10, flags);
  }
  loss.bytesInFlight = IN_FLIGHT * 1200;
  return { loss, host: new CountingHost() };
}

function ackFrame(ranges: number[]): FrameReader {
  const out = new Uint8Array(2048);
  const end = writeAck(out, 0, new Float64Array(ranges), ranges.length / 2, 100, out.length);
  const reader = new FrameReader();
  reader.reset(out, 0, end);
  reader.next();
  return reader;
}

const ackAll = ackFrame([IN_FLIGHT - 1, 0]);
// Every 16th packet missing: 62 ranges; the 61 holes and the 9 packets below them are lost.
const holes: number[] = [];
for (let high = IN_FLIGHT - 1, r = 0; r < 62; r++, high -= 16) holes.push(high, high - 14);
const ackWithHoles = ackFrame(holes);

group(`ACK processing, ${IN_FLIGHT} packets in flight`, () => {
  bench("one ACK frame acknowledging all 1000", function* () {
    yield {
      [0]: inFlight,
      bench(state: { loss: LossDetection; host: CountingHost }) {
        state.loss.onAck(20_000, ackAll, state.host);
        if (state.host.acked !== IN_FLIGHT) throw new Error("acked");
      },
    };
  });
  bench("ACK with 62 ranges: ack 930, detect 70 lost", function* () {
    yield {
      [0]: inFlight,
      bench(state: { loss: LossDetection; host: CountingHost }) {
        state.loss.onAck(20_000, ackWithHoles, state.host);
        if (state.host.lost !== 70 || state.host.acked !== 930) throw new Error(`lost ${state.host.lost} acked ${state.host.acked}`);
      },
    };
  });
});

// Per-iteration heap growth (mitata's heap column) of the transfer loop: 1024 messages per
// iteration, with zero-copy events, and with event.data read (one view per message) to show
// that the measure sees a per-message allocation when there is one.
const BATCH = 1024;
const zeroCopy = new Transfer(true);
zeroCopy.run(200_000, payload);
const touching = new Transfer(true);
touching.run(200_000, payload);
{
  const server = touching.server;
  const pollEvent = server.pollEvent.bind(server);
  server.pollEvent = () => {
    const event = pollEvent();
    if (event !== null && event.type === "message") do_not_optimize(event.data);
    return event;
  };
}
group(`transfer, ${BATCH} x 64 B messages per iteration`, () => {
  bench("zero-copy events (buffer/offset/length)", () => zeroCopy.run(BATCH, payload));
  bench("reading event.data (a view per message)", () => touching.run(BATCH, payload));
});

const results = await run();
const heapPerMessage = (name: string): string => {
  const trial = results.benchmarks.find((b) => b.alias === name);
  const heap = (trial?.runs[0]?.stats as { heap?: { avg: number } } | undefined)?.heap;
  return heap === undefined ? "n/a (run with --expose-gc / bun)" : (heap.avg / BATCH).toFixed(2);
};

// ---------------------------------------------------------------- transfer in virtual time

function measureTransfer(messages: number): { wallPerSecond: number; cpuPerSecond: number } {
  const transfer = new Transfer(true);
  transfer.run(200_000, payload); // warm up the JIT
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  transfer.run(messages, payload);
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  if (transfer.delivered !== 200_000 + messages) throw new Error(`delivered ${transfer.delivered}`);
  return { wallPerSecond: (messages / wallMs) * 1000, cpuPerSecond: (messages / cpuMs) * 1000 };
}

const MESSAGES = 2_000_000;
const runs = [measureTransfer(MESSAGES), measureTransfer(MESSAGES), measureTransfer(MESSAGES)];
const byCpu = runs.map((r) => r.cpuPerSecond).sort((a, b) => a - b);
const byWall = runs.map((r) => r.wallPerSecond).sort((a, b) => a - b);
const m = (x: number) => (x / 1e6).toFixed(2);
console.log(`\ntransfer, 64 B messages, one connection, both engines in this process (CRC32C kernel: ${crc32cKernel()})`);
console.log(`| runs | messages/run | median M msg/s per CPU-second | best | median M msg/s wall | best |`);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: |`);
console.log(`| 3 | ${MESSAGES} | ${m(byCpu[1])} | ${m(byCpu[2])} | ${m(byWall[1])} | ${m(byWall[2])} |`);
console.log(`\nheap growth per message (mitata heap column / ${BATCH}):`);
console.log(`| loop | bytes per message |\n| --- | ---: |`);
console.log(`| zero-copy events (buffer/offset/length) | ${heapPerMessage("zero-copy events (buffer/offset/length)")} |`);
console.log(`| reading event.data (one view per message) | ${heapPerMessage("reading event.data (a view per message)")} |`);
