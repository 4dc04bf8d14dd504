// Native receive thread on loopback: delivery with CRC32C verdicts, doorbell only when
// idle, ~0 CPU while idle, ring-full drops counted, slots reused only after release.
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { crc32cTypeScript } from "../../src/native/crc32c.ts";
import { decodeAddress, encodeAddress } from "../../src/native/address.ts";
import { NativeReceiver } from "../../src/native/receiver.ts";
import { NativeSender } from "../../src/native/sender.ts";
import { type NativeUdpSocket, openUdpSocket } from "../../src/native/udp.ts";
import { gsoGroMissing } from "../support/nativeFeatures.ts";
import { testWhenAvailable } from "../support/skip.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

interface Pair {
  receiverSocket: NativeUdpSocket;
  senderSocket: NativeUdpSocket;
  sender: NativeSender;
  to: Uint8Array;
}

function pair(gro = false): Pair {
  const receiverSocket = openUdpSocket({ host: "127.0.0.1", port: 0, recvBufferBytes: 8 << 20, gro });
  const senderSocket = openUdpSocket({ host: "127.0.0.1", port: 0, sendBufferBytes: 4 << 20 });
  const sender = new NativeSender(senderSocket, { slots: 1024, slotBytes: 1500 });
  cleanups.push(() => { sender.close(); senderSocket.close(); receiverSocket.close(); });
  const to = new Uint8Array(20);
  encodeAddress("127.0.0.1", receiverSocket.localPort, to, 0);
  return { receiverSocket, senderSocket, sender, to };
}

/** Stages datagram `sequence` (u32 sequence + filler + CRC32C trailer); corrupt flips a byte after the CRC. */
function stage(p: Pair, sequence: number, length: number, corrupt: boolean): void {
  const view = p.sender.slot()!;
  new DataView(view.buffer, view.byteOffset).setUint32(0, sequence, true);
  for (let i = 4; i < length - 4; i++) view[i] = (sequence + i) & 0xff;
  new DataView(view.buffer, view.byteOffset).setUint32(length - 4, crc32cTypeScript(view.subarray(0, length - 4)), true);
  if (corrupt) view[5] ^= 0x40;
  p.sender.commit(length, p.to, 0);
}

function flushAll(p: Pair): void {
  for (let round = 0; round < 1000 && p.sender.pending() > 0; round++) p.sender.flush();
  expect(p.sender.pending()).toBe(0);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (let round = 0; round < 100_000; round++) {
    if (condition()) return true; // evaluated once per round: conditions may drain
    if (performance.now() >= deadline) return false;
    await Bun.sleep(2);
  }
  return false;
}

describe("NativeReceiver", () => {
  test("delivers 5000 datagrams in order with checksum verdicts and the sender's address", async () => {
    const p = pair();
    let readable = 0;
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 1024, batchSize: 64, verifyChecksum: true, onReadable: () => readable++ });
    receiver.start();
    cleanups.push(() => receiver.stop());
    const total = 5000;
    const corruptEvery = 97;
    const seen = new Uint8Array(total);
    let verdictsRight = 0;
    let addressesRight = 0;
    let next = 0;
    let inOrder = true;
    const visit = (buf: Uint8Array, offset: number, length: number, addrBuf: Uint8Array, addrOffset: number, checksumOk: boolean) => {
      const sequence = buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 24);
      if (sequence !== next) inOrder = false;
      next = sequence + 1;
      seen[sequence] = 1;
      if (checksumOk === (sequence % corruptEvery !== 0)) verdictsRight++;
      if (length === 200 + (sequence % 800) && addrBuf[addrOffset] === 4 && ((addrBuf[addrOffset + 2]! << 8) | addrBuf[addrOffset + 3]!) === p.senderSocket.localPort) addressesRight++;
    };
    let drained = 0;
    for (let sequence = 0; sequence < total; ) {
      // Send in bursts smaller than the ring and drain in between, as a server would.
      for (let k = 0; k < 500 && sequence < total; k++, sequence++) stage(p, sequence, 200 + (sequence % 800), sequence % corruptEvery === 0);
      flushAll(p);
      await until(() => { drained += receiver.drain(visit, 4096); return drained >= sequence; }, 2000);
    }
    expect(drained).toBe(total);
    expect(seen.every((flag) => flag === 1)).toBe(true);
    expect(inOrder).toBe(true);
    expect(verdictsRight).toBe(total);
    expect(addressesRight).toBe(total);
    const counters = receiver.counters();
    expect(counters.datagrams).toBe(total);
    expect(counters.checksumFailures).toBe(Math.ceil(total / corruptEvery));
    expect(counters.dropsRingFull + counters.dropsNoSlot).toBe(0);
    expect(counters.batches).toBeLessThan(total);
    expect(readable).toBeGreaterThanOrEqual(1);
    expect(decodeAddress(receiver.addrBuf, 256 + 12).host).toBe("127.0.0.1");
  });

  test("verifyChecksum: false reports every datagram ok without checking", async () => {
    const p = pair();
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 64, verifyChecksum: false, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    for (let sequence = 0; sequence < 10; sequence++) stage(p, sequence, 100, true);
    flushAll(p);
    let ok = 0;
    let got = 0;
    await until(() => { got += receiver.drain((_b, _o, _l, _a, _ao, checksumOk) => { if (checksumOk) ok++; }, 64); return got >= 10; }, 2000);
    expect(got).toBe(10);
    expect(ok).toBe(10);
    expect(receiver.counters().checksumFailures).toBe(0);
  });

  test("doorbell rings once per idle period, and the idle thread burns ~no CPU", async () => {
    const p = pair();
    let readable = 0;
    const tasksBefore = new Set(readdirSync("/proc/self/task"));
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 256, onReadable: () => readable++ });
    receiver.start();
    cleanups.push(() => receiver.stop());
    const visit = () => {};
    // The receive thread's own CPU time (utime + stime, clock ticks), from /proc: the whole
    // process's figure would also count whatever else the test process runs meanwhile.
    const threadIds = readdirSync("/proc/self/task").filter((tid) => !tasksBefore.has(tid));
    expect(threadIds.length).toBeGreaterThan(0);
    const threadTicks = () =>
      threadIds.reduce((sum, tid) => {
        try {
          const fields = readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
          return sum + Number(fields[11]) + Number(fields[12]); // utime, stime
        } catch {
          return sum;
        }
      }, 0);

    // Idle: measure the thread's CPU over 300 ms with nothing arriving.
    await Bun.sleep(20);
    const ticksBefore = threadTicks();
    await Bun.sleep(300);
    const idleTicks = threadTicks() - ticksBefore;
    console.log(`idle receiver thread: ${idleTicks} clock ticks (10 ms each) of CPU over 300 ms`);
    expect(idleTicks).toBeLessThanOrEqual(1); // a spinning thread would show ~30
    expect(readable).toBe(0);

    // Idle -> one datagram -> exactly one doorbell; no drain -> more data, no more doorbells.
    stage(p, 1, 64, false);
    flushAll(p);
    expect(await until(() => readable === 1, 2000)).toBe(true);
    for (let sequence = 2; sequence < 12; sequence++) stage(p, sequence, 64, false);
    flushAll(p);
    expect(await until(() => receiver.pending() === 11, 2000)).toBe(true);
    await Bun.sleep(20);
    expect(readable).toBe(1); // the flag was consumed: busy (not drained) means no callbacks

    // Drain to empty sets the flag again: the next arrival rings once more.
    expect(receiver.drain(visit, 100)).toBe(11);
    stage(p, 12, 64, false);
    flushAll(p);
    expect(await until(() => readable === 2, 2000)).toBe(true);
    expect(receiver.drain(visit, 100)).toBe(1);
    const counters = receiver.counters();
    expect(counters.wakeups).toBe(2);
    expect(counters.doorbells).toBe(2);
  });

  test("ring full: datagrams past the ring are dropped and counted; flow resumes after drain", async () => {
    const p = pair();
    // More slots than ring entries, so the ring (not the slab) is what fills.
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 16, slots: 256, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    for (let sequence = 0; sequence < 100; sequence++) stage(p, sequence, 100, false);
    flushAll(p);
    expect(await until(() => { const c = receiver.counters(); return c.datagrams + c.dropsRingFull === 100; }, 2000)).toBe(true);
    const counters = receiver.counters();
    expect(counters.datagrams).toBe(16);
    expect(counters.dropsRingFull).toBe(84);
    const sequences: number[] = [];
    const visit = (buf: Uint8Array, offset: number) => { sequences.push(buf[offset]!); };
    expect(receiver.drain(visit, 100)).toBe(16);
    expect(sequences).toEqual([...Array(16).keys()]);
    stage(p, 200, 100, false);
    flushAll(p);
    expect(await until(() => receiver.drain(visit, 100) === 1, 2000)).toBe(true);
    expect(sequences[16]).toBe(200);
  });

  test("slab space is reused only after drain releases it (a full slab drops, never overwrites)", async () => {
    const p = pair();
    // 8 x 1024 B of slab; 1000 B datagrams pack to 1024 B each, so 8 fill it.
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 64, slots: 8, slotBytes: 1024, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    for (let sequence = 0; sequence < 8; sequence++) stage(p, sequence, 1000, false);
    flushAll(p);
    expect(await until(() => receiver.pending() === 8, 2000)).toBe(true);
    for (let sequence = 8; sequence < 20; sequence++) stage(p, sequence, 1000, false);
    flushAll(p);
    expect(await until(() => receiver.counters().dropsNoSlot === 12, 2000)).toBe(true);
    const sequences: number[] = [];
    let intact = 0;
    receiver.drain((buf, offset, length, _a, _ao, ok) => { sequences.push(buf[offset]!); if (ok && length === 1000) intact++; }, 100);
    expect(sequences).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // not overwritten by 8..19
    expect(intact).toBe(8);
    for (let sequence = 20; sequence < 28; sequence++) stage(p, sequence, 1000, false);
    flushAll(p);
    expect(await until(() => receiver.pending() === 8, 2000)).toBe(true);
    sequences.length = 0;
    receiver.drain((buf, offset, _l, _a, _ao, ok) => { if (ok) sequences.push(buf[offset]!); }, 100);
    expect(sequences).toEqual([20, 21, 22, 23, 24, 25, 26, 27]);
  });

  test("packSlab: false keeps one slot per datagram (8 slots hold 8 small datagrams, the rest drop)", async () => {
    const p = pair();
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 64, slots: 8, slotBytes: 1024, packSlab: false, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    for (let sequence = 0; sequence < 8; sequence++) stage(p, sequence, 100, false);
    flushAll(p);
    expect(await until(() => receiver.pending() === 8, 2000)).toBe(true);
    for (let sequence = 8; sequence < 12; sequence++) stage(p, sequence, 100, false);
    flushAll(p);
    expect(await until(() => receiver.counters().dropsNoSlot === 4, 2000)).toBe(true);
    const sequences: number[] = [];
    receiver.drain((buf, offset, _l, _a, _ao, ok) => { if (ok) sequences.push(buf[offset]!); }, 100);
    expect(sequences).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test("small datagrams pack into the slab: far more in flight than 64 KiB GRO slots", async () => {
    const p = pair(true);
    // 16 x 64 KiB of slab: as fixed slots that would be 16 datagrams; packed, 100 B each take 128 B.
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 4096, slots: 16, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    let sent = 0;
    for (let burst = 0; burst < 5; burst++) {
      // Distinct lengths per datagram defeat GSO/GRO coalescing: each arrives on its own.
      for (let k = 0; k < 200; k++, sent++) stage(p, sent, 100 + (sent % 2), false);
      flushAll(p);
      await until(() => receiver.pending() + receiver.counters().dropsNoSlot >= sent, 2000);
    }
    const counters = receiver.counters();
    expect(receiver.pending()).toBe(1000);
    expect(counters.dropsNoSlot + counters.dropsRingFull).toBe(0);
    const sequences: number[] = [];
    receiver.drain((buf, offset, _l, _a, _ao, ok) => { if (ok) sequences.push(buf[offset]! | (buf[offset + 1]! << 8)); }, 2000);
    expect(sequences).toEqual([...Array(1000).keys()]);
  });

  test("slab byte ring wraps ~100 times with a backlog held: data intact, in order, drops counted", async () => {
    const p = pair();
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 256, slots: 16, slotBytes: 2048, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    const total = 6000;
    let sent = 0;
    let received = 0;
    let corrupt = 0;
    let last = -1;
    let ordered = true;
    const visit = (buf: Uint8Array, offset: number, length: number, _a: Uint8Array, _ao: number, ok: boolean) => {
      const sequence = buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16);
      if (!ok || length !== 64 + (sequence % 1300)) corrupt++;
      if (sequence <= last) ordered = false;
      last = sequence;
      received++;
    };
    for (let step = 0; step < 2000 && sent < total; step++) {
      for (let k = 0; k < 6 && sent < total; k++, sent++) stage(p, sent, 64 + (sent % 1300), false);
      flushAll(p);
      // Hold a backlog: drain only down to ~6 datagrams, so the cursor keeps moving round.
      await until(() => receiver.pending() + receiver.counters().dropsNoSlot + received >= sent, 1000);
      const backlog = receiver.pending();
      if (backlog > 6) receiver.drain(visit, backlog - 6);
    }
    await until(() => { receiver.drain(visit, 1000); return received + receiver.counters().dropsNoSlot >= total; }, 2000);
    const counters = receiver.counters();
    console.log(`slab wrap: ${received} received, ${counters.dropsNoSlot} dropped for space, ${(sent * 700) / (16 * 2048) | 0} slab turns (approx.)`);
    expect(received + counters.dropsNoSlot).toBe(total);
    expect(corrupt).toBe(0);
    expect(ordered).toBe(true);
    expect(received).toBeGreaterThan(total * 0.9);
  });

  test("closing the socket stops its receive thread first", async () => {
    const p = pair();
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 64, onReadable: () => {} });
    receiver.start();
    const threadsBefore = readdirSync("/proc/self/task").length;
    p.receiverSocket.close();
    expect(receiver.pending()).toBe(0); // stopped: no ring any more
    expect(readdirSync("/proc/self/task").length).toBe(threadsBefore - 1);
    expect(() => receiver.start()).toThrow("closed");
  });

  test("a visitor that throws consumes its datagram: the next drain continues after it", async () => {
    const p = pair();
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 64, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    for (let sequence = 0; sequence < 5; sequence++) stage(p, sequence, 100, false);
    flushAll(p);
    expect(await until(() => receiver.pending() === 5, 2000)).toBe(true);
    const seen: number[] = [];
    expect(() => receiver.drain((buf, offset) => {
      seen.push(buf[offset]!);
      if (buf[offset] === 2) throw new Error("engine bug");
    }, 10)).toThrow("engine bug");
    expect(receiver.pending()).toBe(2);
    receiver.drain((buf, offset) => { seen.push(buf[offset]!); }, 10);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(receiver.counters().drained).toBe(5);
  });

  testWhenAvailable(gsoGroMissing())("GRO: a GSO burst arrives split into per-segment datagrams with verdicts", async () => {
    const p = pair(true);
    const receiver = new NativeReceiver(p.receiverSocket, { ringSlots: 1024, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    for (let sequence = 0; sequence < 40; sequence++) stage(p, sequence, sequence < 39 ? 1200 : 500, sequence === 7);
    flushAll(p);
    const lengths: number[] = [];
    const verdicts: boolean[] = [];
    let got = 0;
    await until(() => {
      got += receiver.drain((_b, _o, length, _a, _ao, ok) => { lengths.push(length); verdicts.push(ok); }, 100);
      return got >= 40;
    }, 2000);
    expect(got).toBe(40);
    expect(lengths.filter((length) => length === 1200).length).toBe(39);
    expect(lengths[39]).toBe(500);
    expect(verdicts.filter((ok) => !ok).length).toBe(1);
    expect(verdicts[7]).toBe(false);
    const counters = receiver.counters();
    expect(p.sender.counters().gsoMessages).toBeGreaterThan(0);
    expect(counters.groBuffers).toBeGreaterThan(0);
  });

  test("cpu option pins the thread (visible in /proc) and IPv6 datagrams flow", async () => {
    const receiverSocket = openUdpSocket({ host: "::1", port: 0 });
    const senderSocket = openUdpSocket({ host: "::1", port: 0 });
    const sender = new NativeSender(senderSocket, { slots: 16, slotBytes: 256 });
    cleanups.push(() => { sender.close(); senderSocket.close(); receiverSocket.close(); });
    const tasksBefore = new Set(readdirSync("/proc/self/task"));
    const receiver = new NativeReceiver(receiverSocket, { ringSlots: 64, cpu: 0, onReadable: () => {} });
    receiver.start();
    cleanups.push(() => receiver.stop());
    const to = new Uint8Array(20);
    encodeAddress("::1", receiverSocket.localPort, to, 0);
    const view = sender.slot()!;
    view.set([1, 2, 3, 4, 5]);
    sender.commit(5, to, 0);
    expect(sender.flush()).toBe(1);
    let from = "";
    expect(await until(() => receiver.drain((_b, _o, _l, addrBuf, addrOffset) => { from = decodeAddress(addrBuf, addrOffset).host; }, 8) === 1, 2000)).toBe(true);
    expect(from).toBe("::1");
    const newTasks = readdirSync("/proc/self/task").filter((tid) => !tasksBefore.has(tid));
    const cpuLists = newTasks.map((tid) => {
      try { return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/self/task/${tid}/status`, "utf8"))?.[1] ?? ""; } catch { return ""; }
    });
    expect(cpuLists).toContain("0");
  });

  test("event-driven drain (only on doorbell) loses no wake-up across 300 bursts", async () => {
    const p = pair();
    let received = 0;
    let receiver: NativeReceiver;
    const visit = () => { received++; };
    receiver = new NativeReceiver(p.receiverSocket, {
      ringSlots: 8192, // room for everything: this test is about wake-ups, not drops
      // The runtime's shape: drain on the doorbell, and again while drain fills `max`.
      onReadable: () => { while (receiver.drain(visit, 64) === 64); },
    });
    receiver.start();
    cleanups.push(() => receiver.stop());
    let sent = 0;
    for (let burst = 0; burst < 300; burst++) {
      const size = 1 + (burst % 6) * 15; // 1..76 datagrams, sometimes more than one drain's max
      for (let k = 0; k < size; k++) stage(p, sent++, 64, false);
      flushAll(p);
      if (burst % 3 === 0) await Bun.sleep(0);
      else if (burst % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
    }
    const arrived = await until(() => received === sent, 2000);
    const counters = receiver.counters();
    if (!arrived) console.log({ sent, received, pending: receiver.pending(), ...counters });
    expect(arrived).toBe(true);
    expect(counters.datagrams).toBe(sent);
    expect(counters.dropsNoSlot + counters.dropsRingFull).toBe(0);
    console.log(`event-driven: ${sent} datagrams, ${counters.doorbells} doorbells, ${counters.batches} batches`);
  });
});
