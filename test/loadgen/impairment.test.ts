// The impairments are seeded and statistically right. Driven with a fake clock and a
// synchronous sink where no delay is involved; reordering uses real (short) timers.
import { describe, expect, test } from "bun:test";
import { DueHeap } from "../../bench/loadgen/dueHeap.ts";
import { ImpairedLink, type ImpairmentConfig, noImpairment, parseImpairment } from "../../bench/loadgen/impairment.ts";

const packetCount = 5000;

function runLink(config: Partial<ImpairmentConfig>, seed: number, count = packetCount) {
  const delivered: Uint8Array[] = [];
  let clockUs = 0;
  const link = new ImpairedLink({ ...noImpairment, ...config }, seed, (data) => delivered.push(data.slice()), {
    packetImpairments: true,
    preserveOrder: false,
    heapCapacity: 100_000,
    nowUs: () => clockUs,
  });
  const packet = new Uint8Array(64);
  for (let i = 0; i < count; i++) {
    packet[0] = i & 0xff;
    packet[1] = (i >> 8) & 0xff;
    link.push(packet, 0);
    clockUs += 10;
  }
  link.close();
  return { link, delivered, ids: delivered.map((p) => p[0] | (p[1] << 8)) };
}

describe("parseImpairment", () => {
  test("reads fractions, percents, ms and Mbit/s", () => {
    const config = parseImpairment("loss=5%,burst=3,dup=0.01,delay=2,jitter=1,corrupt=0.1%,rate=100,seed=9");
    expect(config.lossRate).toBeCloseTo(0.05);
    expect(config.burstLengthMean).toBe(3);
    expect(config.duplicateRate).toBeCloseTo(0.01);
    expect(config.corruptRate).toBeCloseTo(0.001);
    expect(config.rateMbps).toBe(100);
    expect(config.seed).toBe(9);
  });
  test("rejects unknown keys and bad values", () => {
    expect(() => parseImpairment("lose=5%")).toThrow(/unknown impairment/);
    expect(() => parseImpairment("loss=150%")).toThrow(/fraction/);
    expect(() => parseImpairment("delay=-1")).toThrow(/bad value/);
  });
});

describe("ImpairedLink", () => {
  test("10% random loss over 5000 packets lands within 5 standard deviations", () => {
    const { link, delivered } = runLink({ lossRate: 0.1 }, 42);
    const sd = Math.sqrt(packetCount * 0.1 * 0.9);
    expect(Math.abs(link.counters.droppedRandom - 500)).toBeLessThan(5 * sd);
    expect(delivered.length).toBe(packetCount - link.counters.droppedRandom);
    expect(link.counters.forwarded).toBe(delivered.length);
  });

  test("the same seed drops the same packets; another seed drops others", () => {
    const a = runLink({ lossRate: 0.1 }, 7).ids;
    const b = runLink({ lossRate: 0.1 }, 7).ids;
    const c = runLink({ lossRate: 0.1 }, 8).ids;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test("Gilbert-Elliott loss keeps the mean rate and comes in bursts of the mean length", () => {
    const count = 20_000;
    const { link, ids } = runLink({ lossRate: 0.05, burstLengthMean: 4 }, 11, count);
    const lost = link.counters.droppedBurst;
    expect(Math.abs(lost / count - 0.05)).toBeLessThan(0.02);
    // Mean run length of consecutive missing ids.
    const received = new Set(ids);
    let runs = 0;
    for (let i = 0; i < count; i++) if (!received.has(i) && (i === 0 || received.has(i - 1))) runs++;
    const meanBurst = lost / runs;
    expect(meanBurst).toBeGreaterThan(2.5);
    expect(meanBurst).toBeLessThan(6);
  });

  test("duplication delivers extra copies at the configured rate", () => {
    const { link, delivered } = runLink({ duplicateRate: 0.2 }, 5);
    expect(delivered.length).toBe(packetCount + link.counters.duplicated);
    expect(Math.abs(link.counters.duplicated - 1000)).toBeLessThan(5 * Math.sqrt(packetCount * 0.2 * 0.8));
  });

  test("corruption flips exactly one bit in the corrupted packets", async () => {
    const delivered: Uint8Array[] = [];
    const link = new ImpairedLink({ ...noImpairment, corruptRate: 1 }, 3, (data) => delivered.push(data.slice()), {
      packetImpairments: true,
      preserveOrder: false,
      heapCapacity: 1000,
      nowUs: () => performance.now() * 1000,
    });
    const packet = new Uint8Array(32);
    for (let i = 0; i < 50; i++) link.push(packet, 0);
    for (let i = 0; i < 50 && delivered.length < 50; i++) await Bun.sleep(5);
    link.close();
    expect(delivered.length).toBe(50);
    for (const data of delivered) {
      let bits = 0;
      for (const byte of data) for (let b = byte; b !== 0; b &= b - 1) bits++;
      expect(bits).toBe(1);
    }
    expect(link.counters.corrupted).toBe(50);
  });

  test("jitter reorders packets; every packet still arrives once", async () => {
    const ids: number[] = [];
    const link = new ImpairedLink({ ...noImpairment, jitterMs: 8 }, 1, (data) => ids.push(data[0]), {
      packetImpairments: true,
      preserveOrder: false,
      heapCapacity: 1000,
      nowUs: () => performance.now() * 1000,
    });
    for (let i = 0; i < 200; i++) link.push(new Uint8Array([i]), 0);
    for (let i = 0; i < 100 && ids.length < 200; i++) await Bun.sleep(5);
    link.close();
    expect(ids.length).toBe(200);
    expect(new Set(ids).size).toBe(200);
    let inversions = 0;
    for (let i = 1; i < ids.length; i++) if (ids[i] < ids[i - 1]) inversions++;
    expect(inversions).toBeGreaterThan(10);
  });

  test("preserveOrder (TCP) delays without reordering", async () => {
    const ids: number[] = [];
    const link = new ImpairedLink({ ...noImpairment, jitterMs: 8 }, 1, (data) => ids.push(data[0]), {
      packetImpairments: false,
      preserveOrder: true,
      heapCapacity: 1000,
      nowUs: () => performance.now() * 1000,
    });
    for (let i = 0; i < 100; i++) link.push(new Uint8Array([i]), 0);
    for (let i = 0; i < 100 && ids.length < 100; i++) await Bun.sleep(5);
    link.close();
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  test("the rate limit's bounded queue refuses and counts what does not fit", () => {
    // 8 Mbit/s = 1 byte/us; 64-byte packets every 10 us fill a 6400-byte queue.
    const { link } = runLink({ rateMbps: 8, queueBytes: 6400 }, 1, 1000);
    expect(link.counters.droppedQueueFull).toBeGreaterThan(600);
    expect(link.counters.received).toBe(1000);
  });
});

describe("DueHeap", () => {
  test("pops in due order, ties in insertion order, and refuses past capacity", () => {
    const heap = new DueHeap<number>(5);
    for (const [due, item] of [[5, 0], [1, 1], [3, 2], [1, 3], [2, 4]]) expect(heap.push(due, item)).toBe(true);
    expect(heap.push(0, 99)).toBe(false);
    const order: number[] = [];
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) order.push(item);
    expect(order).toEqual([1, 3, 4, 2, 0]);
  });
});
