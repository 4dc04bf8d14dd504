// Tests of the simulator itself: the PRNG and each impairment do what they claim, measured on
// raw datagrams (no engine), so that a scenario failure points at the engine, not the network.

import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { PeerAddress } from "../../src/protocol/api.ts";
import { crc32c } from "./checksum.ts";
import { SimNetwork, perfectLink, type Datagram, type LinkImpairments } from "./network.ts";
import { Prng } from "./prng.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

const alice: PeerAddress = { family: 4, host: "10.0.0.1", port: 1000 };
const bob: PeerAddress = { family: 4, host: "10.0.0.2", port: 2000 };

/** Sends `count` datagrams (4-byte sequence + padding) one every `gapUs`, then drains all. */
function pushThrough(impairments: Partial<LinkImpairments>, count: number, gapUs: number, lengthBytes = 100, seed = 7): { arrived: Datagram[]; network: SimNetwork } {
  const network = new SimNetwork(new Prng(seed), { ...perfectLink(), ...impairments });
  const arrived: Datagram[] = [];
  const payload = new Uint8Array(lengthBytes);
  const view = new DataView(payload.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(0, i);
    network.send(i * gapUs, alice, bob, payload);
    for (let d = network.takeDue(i * gapUs); d !== null; d = network.takeDue(i * gapUs)) arrived.push(d);
  }
  for (let d = network.takeDue(Infinity); d !== null; d = network.takeDue(Infinity)) arrived.push(d);
  return { arrived, network };
}

function sequenceOf(datagram: Datagram): number {
  return new DataView(datagram.bytes.buffer, datagram.bytes.byteOffset).getUint32(0);
}

describe("prng", () => {
  test("one seed gives one stream; nearby seeds give unrelated streams", () => {
    const a = new Prng(1);
    const b = new Prng(1);
    const c = new Prng(2);
    const streamA = Array.from({ length: 64 }, () => a.nextU32());
    const streamB = Array.from({ length: 64 }, () => b.nextU32());
    const streamC = Array.from({ length: 64 }, () => c.nextU32());
    expect(streamA).toEqual(streamB);
    expect(streamA.filter((value, i) => value === streamC[i]).length).toBe(0);
  });

  test("uniform and exponential draws have the right moments", () => {
    const prng = new Prng(12345);
    let sum = 0;
    let expSum = 0;
    let below10Max = 0;
    const draws = 100_000;
    for (let i = 0; i < draws; i++) {
      const value = prng.nextFloat();
      expect(value >= 0 && value < 1).toBe(true);
      sum += value;
      expSum += prng.exponential(1000);
      below10Max = Math.max(below10Max, prng.below(10));
    }
    expect(Math.abs(sum / draws - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(expSum / draws - 1000)).toBeLessThan(20);
    expect(below10Max).toBe(9);
  });
});

describe("network impairments", () => {
  test("a perfect link delivers everything, in order, after exactly the delay", () => {
    const { arrived } = pushThrough({ delayUs: 5000 }, 1000, 100);
    expect(arrived.length).toBe(1000);
    arrived.forEach((d, i) => {
      expect(sequenceOf(d)).toBe(i);
      expect(d.arrivalUs).toBe(i * 100 + 5000);
    });
  });

  test("independent loss drops close to the configured rate", () => {
    const { arrived, network } = pushThrough({ lossRate: 0.1 }, 20_000, 10);
    expect(Math.abs(1 - arrived.length / 20_000 - 0.1)).toBeLessThan(0.01);
    expect(network.counters.dropped.loss).toBe(20_000 - arrived.length);
  });

  test("Gilbert-Elliott loss comes in bursts of mean length 1/badToGoodRate", () => {
    const burstLoss = { goodToBadRate: 0.01, badToGoodRate: 0.25, lossRateGood: 0, lossRateBad: 1 };
    const { arrived } = pushThrough({ burstLoss }, 50_000, 10);
    const received = new Set(arrived.map(sequenceOf));
    let bursts = 0;
    let lost = 0;
    for (let i = 0; i < 50_000; i++) {
      if (received.has(i)) continue;
      lost++;
      if (i === 0 || received.has(i - 1)) bursts++;
    }
    // Stationary loss = 0.01 / (0.01 + 0.25) ~ 3.8%; mean burst length 4.
    expect(Math.abs(lost / 50_000 - 0.01 / 0.26)).toBeLessThan(0.01);
    expect(Math.abs(lost / bursts - 4)).toBeLessThan(0.5);
  });

  test("duplication adds copies at the configured rate", () => {
    const { arrived, network } = pushThrough({ duplicateRate: 0.05 }, 20_000, 10);
    expect(Math.abs(arrived.length / 20_000 - 1.05)).toBeLessThan(0.01);
    expect(arrived.filter((d) => d.duplicate).length).toBe(network.counters.duplicated);
  });

  test("exponential jitter reorders; mean extra delay matches", () => {
    const { arrived } = pushThrough({ delayUs: 1000, jitterMeanUs: 2000 }, 10_000, 500);
    let inversions = 0;
    let extraUs = 0;
    for (let i = 0; i < arrived.length; i++) {
      if (i > 0 && sequenceOf(arrived[i]!) < sequenceOf(arrived[i - 1]!)) inversions++;
      extraUs += arrived[i]!.arrivalUs - sequenceOf(arrived[i]!) * 500 - 1000;
    }
    expect(arrived.length).toBe(10_000);
    expect(inversions).toBeGreaterThan(500);
    expect(Math.abs(extraUs / arrived.length - 2000)).toBeLessThan(100);
  });

  test("corruption flips 1 to 3 bits, and CRC32C always notices", () => {
    const network = new SimNetwork(new Prng(99), { ...perfectLink(), corruptRate: 1 });
    const original = new Uint8Array(1200);
    new Prng(5).fillBytes(original);
    const originalCrc = crc32c(original);
    for (let i = 0; i < 2000; i++) network.send(i, alice, bob, original);
    let count = 0;
    for (let d = network.takeDue(Infinity); d !== null; d = network.takeDue(Infinity)) {
      let bitsDiffering = 0;
      for (let j = 0; j < original.length; j++) {
        let x = original[j]! ^ d.bytes[j]!;
        while (x !== 0) {
          bitsDiffering += x & 1;
          x >>>= 1;
        }
      }
      expect(d.corrupted).toBe(true);
      expect(bitsDiffering >= 1 && bitsDiffering <= 3).toBe(true);
      expect(crc32c(d.bytes)).not.toBe(originalCrc);
      count++;
    }
    expect(count).toBe(2000);
  });

  test("datagrams above the path MTU are dropped, others pass", () => {
    const network = new SimNetwork(new Prng(1), { ...perfectLink(), pathMtuBytes: 1000 });
    network.send(0, alice, bob, new Uint8Array(1000));
    network.send(0, alice, bob, new Uint8Array(1001));
    expect(network.inFlight).toBe(1);
    expect(network.counters.dropped.mtu).toBe(1);
  });

  test("a bandwidth cap spaces arrivals and tail-drops beyond the queue", () => {
    // 1 MB/s, 10 kB queue, 1000-byte datagrams offered at 2 MB/s: half are turned away.
    const { arrived, network } = pushThrough({ bandwidthBytesPerSecond: 1_000_000, queueBytesMax: 10_000, delayUs: 0 }, 2000, 500, 1000);
    for (let i = 1; i < arrived.length; i++) expect(arrived[i]!.arrivalUs - arrived[i - 1]!.arrivalUs).toBeGreaterThanOrEqual(999);
    expect(Math.abs(arrived.length - 1000)).toBeLessThan(20);
    expect(network.counters.dropped["queue-full"]).toBe(2000 - arrived.length);
  });

  test("a blackhole carries nothing sent or arriving inside its window", () => {
    const { arrived, network } = pushThrough({ delayUs: 1000, blackholes: [{ startUs: 10_000, endUs: 20_000 }] }, 300, 100);
    const sent = arrived.map((d) => sequenceOf(d) * 100);
    expect(sent.every((sentUs) => sentUs < 9_000 || sentUs >= 20_000)).toBe(true);
    expect(network.counters.dropped.blackhole).toBe(110);
  });

  test("one seed replays the same deliveries; another seed does not", () => {
    const impairments = { lossRate: 0.1, duplicateRate: 0.05, jitterMeanUs: 3000, corruptRate: 0.05 };
    const first = pushThrough(impairments, 5000, 100, 300, 42).network.traceHash;
    const again = pushThrough(impairments, 5000, 100, 300, 42).network.traceHash;
    const other = pushThrough(impairments, 5000, 100, 300, 43).network.traceHash;
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });
});
