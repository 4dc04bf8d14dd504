// Network impairments applied in user space (this kernel has no netem): random loss,
// Gilbert-Elliott burst loss, duplication, delay with jitter (which reorders), bit corruption
// and a rate limit with a bounded queue. One ImpairedLink is one direction of one proxy; it
// holds every delayed packet in one DueHeap with one armed setTimeout.

import { DueHeap } from "./dueHeap.ts";
import { SeededRandom } from "./prng.ts";

export interface ImpairmentConfig {
  /** Mean fraction of packets lost (0..1). With burstLengthMean > 1 the loss comes in bursts. */
  lossRate: number;
  /** Mean burst length in packets for Gilbert-Elliott loss; <= 1 means independent loss. */
  burstLengthMean: number;
  duplicateRate: number;
  delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs] per packet: packets overtake each other. */
  jitterMs: number;
  /** Fraction of packets that get one random bit flipped. */
  corruptRate: number;
  /** Link rate in Mbit/s; 0 = unlimited. */
  rateMbps: number;
  /** Bytes that may wait behind the rate limit before packets are dropped as queue-full. */
  queueBytes: number;
  seed: number;
}

export const noImpairment: ImpairmentConfig = {
  lossRate: 0,
  burstLengthMean: 0,
  duplicateRate: 0,
  delayMs: 0,
  jitterMs: 0,
  corruptRate: 0,
  rateMbps: 0,
  queueBytes: 1 << 20,
  seed: 1,
};

const keyToField: Record<string, keyof ImpairmentConfig> = {
  loss: "lossRate",
  burst: "burstLengthMean",
  dup: "duplicateRate",
  delay: "delayMs",
  jitter: "jitterMs",
  corrupt: "corruptRate",
  rate: "rateMbps",
  queue: "queueBytes",
  seed: "seed",
};
const fractionFields = new Set<keyof ImpairmentConfig>(["lossRate", "duplicateRate", "corruptRate"]);

/** Parses "loss=5%,burst=3,dup=0.01,delay=2,jitter=1,corrupt=0.001,rate=100,queue=262144,seed=7".
 *  Fractions accept "5%" or "0.05"; delay/jitter are ms; rate is Mbit/s. Throws on a bad key or value. */
export function parseImpairment(text: string): ImpairmentConfig {
  const config: ImpairmentConfig = { ...noImpairment };
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const [key, rawValue] = part.split("=", 2).map((s) => s.trim());
    const field = keyToField[key];
    if (field === undefined) throw new Error(`unknown impairment "${key}" (known: ${Object.keys(keyToField).join(", ")})`);
    if (rawValue === undefined || rawValue === "") throw new Error(`impairment "${key}" needs a value`);
    const isPercent = rawValue.endsWith("%");
    const value = Number(isPercent ? rawValue.slice(0, -1) : rawValue) / (isPercent ? 100 : 1);
    if (!Number.isFinite(value) || value < 0) throw new Error(`impairment "${key}" has a bad value "${rawValue}"`);
    if (fractionFields.has(field) && value > 1) throw new Error(`impairment "${key}" must be a fraction (0..1 or 0%..100%)`);
    config[field] = value;
  }
  return config;
}

export function describeImpairment(config: ImpairmentConfig): string {
  return Object.entries(keyToField)
    .filter(([, field]) => config[field] !== noImpairment[field])
    .map(([key, field]) => `${key}=${config[field]}`)
    .join(",");
}

export interface LinkCounters {
  received: number;
  forwarded: number;
  duplicated: number;
  corrupted: number;
  delayed: number;
  droppedRandom: number;
  droppedBurst: number;
  droppedQueueFull: number;
  /** Refused because the delay heap reached its capacity. */
  droppedHeapFull: number;
}

export function emptyLinkCounters(): LinkCounters {
  return {
    received: 0,
    forwarded: 0,
    duplicated: 0,
    corrupted: 0,
    delayed: 0,
    droppedRandom: 0,
    droppedBurst: 0,
    droppedQueueFull: 0,
    droppedHeapFull: 0,
  };
}

/** A delayed packet: its own copy of the bytes and where it goes (an opaque tag for the proxy). */
interface HeldPacket {
  data: Uint8Array;
  tag: number;
}

export type DeliverPacket = (data: Uint8Array, tag: number) => void;

export interface LinkOptions {
  /** Loss, duplication and corruption apply (false for byte streams: TCP cannot lose bytes here). */
  packetImpairments: boolean;
  /** Keep per-tag order (for byte streams): a later chunk never leaves before an earlier one. */
  preserveOrder: boolean;
  heapCapacity: number;
  nowUs: () => number;
}

export class ImpairedLink {
  readonly counters = emptyLinkCounters();
  private readonly random: SeededRandom;
  private readonly heap: DueHeap<HeldPacket>;
  private inBadState = false;
  private linkFreeAtUs = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private armedDueUs = Infinity;
  private readonly lastDueUsByTag = new Map<number, number>();
  private readonly goodToBad: number;
  private readonly badToGood: number;
  private readonly fireBound = () => this.fire();

  constructor(
    readonly config: ImpairmentConfig,
    seed: number,
    private readonly deliver: DeliverPacket,
    private readonly options: LinkOptions,
  ) {
    this.random = new SeededRandom(seed);
    this.heap = new DueHeap<HeldPacket>(options.heapCapacity);
    // Stationary loss of the two-state chain = goodToBad / (goodToBad + badToGood) = lossRate,
    // and the mean stay in the bad state is 1 / badToGood = burstLengthMean packets.
    const burst = config.burstLengthMean;
    const loss = config.lossRate;
    this.badToGood = burst > 1 ? 1 / burst : 1;
    this.goodToBad = burst > 1 && loss < 1 ? loss / (burst * (1 - loss)) : 0;
  }

  get heldPackets(): number {
    return this.heap.size;
  }

  /** Takes one packet. `data` may be reused by the caller after return. */
  push(data: Uint8Array, tag: number): void {
    this.counters.received++;
    if (this.options.packetImpairments && this.lost()) return;
    const copies = this.options.packetImpairments && this.random.next() < this.config.duplicateRate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let copy = 0; copy < copies; copy++) this.schedule(data, tag);
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.heap.pop() !== undefined) {}
  }

  private lost(): boolean {
    const config = this.config;
    if (config.burstLengthMean > 1) {
      this.inBadState = this.inBadState ? this.random.next() >= this.badToGood : this.random.next() < this.goodToBad;
      if (this.inBadState) this.counters.droppedBurst++;
      return this.inBadState;
    }
    if (config.lossRate > 0 && this.random.next() < config.lossRate) {
      this.counters.droppedRandom++;
      return true;
    }
    return false;
  }

  private schedule(data: Uint8Array, tag: number): void {
    const config = this.config;
    const nowUs = this.options.nowUs();
    let departUs = nowUs;
    if (config.rateMbps > 0) {
      const queuedBytes = Math.max(0, this.linkFreeAtUs - nowUs) * config.rateMbps / 8;
      if (queuedBytes + data.length > config.queueBytes) {
        this.counters.droppedQueueFull++;
        return;
      }
      // Mbit/s is bits per microsecond: serialisation time in us = bits / rateMbps.
      this.linkFreeAtUs = Math.max(nowUs, this.linkFreeAtUs) + (data.length * 8) / config.rateMbps;
      departUs = this.linkFreeAtUs;
    }
    let dueUs = departUs + config.delayMs * 1000 + (config.jitterMs > 0 ? this.random.next() * config.jitterMs * 1000 : 0);
    if (this.options.preserveOrder) {
      dueUs = Math.max(dueUs, this.lastDueUsByTag.get(tag) ?? 0);
      this.lastDueUsByTag.set(tag, dueUs);
    }
    const corrupt = this.options.packetImpairments && config.corruptRate > 0 && this.random.next() < config.corruptRate;
    if (dueUs <= nowUs && !corrupt && this.heap.size === 0) {
      this.counters.forwarded++;
      this.deliver(data, tag);
      return;
    }
    const copy = data.slice();
    if (corrupt && copy.length > 0) {
      const bit = this.random.nextInt(copy.length * 8);
      copy[bit >> 3] ^= 1 << (bit & 7);
      this.counters.corrupted++;
    }
    if (!this.heap.push(dueUs, { data: copy, tag })) {
      this.counters.droppedHeapFull++;
      return;
    }
    if (dueUs > nowUs) this.counters.delayed++;
    this.arm();
  }

  private arm(): void {
    const dueUs = this.heap.peekDueUs();
    if (dueUs === Infinity || dueUs >= this.armedDueUs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedDueUs = dueUs;
    const waitMs = Math.max(0, (dueUs - this.options.nowUs()) / 1000);
    this.timer = setTimeout(this.fireBound, waitMs);
  }

  private fire(): void {
    this.timer = null;
    this.armedDueUs = Infinity;
    const nowUs = this.options.nowUs();
    // Bounded by the heap size at entry: packets pushed while delivering wait for the next timer.
    for (let budget = this.heap.size; budget > 0 && this.heap.peekDueUs() <= nowUs; budget--) {
      const packet = this.heap.pop()!;
      this.counters.forwarded++;
      this.deliver(packet.data, packet.tag);
    }
    this.arm();
  }
}

export function monotonicNowUs(): number {
  return performance.now() * 1000;
}
