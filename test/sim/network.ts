// A deterministic packet network for simulation tests (model: TigerBeetle's packet simulator).
// Datagrams in flight sit in one priority queue keyed by (arrival time, send sequence), so equal
// arrival times keep a stable order. Every impairment draws from the network's seeded PRNG, and
// each directed link keeps its own state (burst-loss state, bottleneck queue), so one seed
// replays the same run exactly.

import type { PeerAddress } from "../../src/protocol/api.ts";
import { Prng } from "./prng.ts";

/** Gilbert-Elliott two-state loss: a good state with rare loss and a bad state with heavy loss.
 *  The state changes before each datagram with the given probabilities. */
export interface BurstLoss {
  goodToBadRate: number;
  badToGoodRate: number;
  lossRateGood: number;
  lossRateBad: number;
}

/** A window of virtual time in which the link carries nothing (a partition). */
export interface Blackhole {
  startUs: number;
  endUs: number;
}

export interface LinkImpairments {
  /** Independent loss probability per datagram, on top of burst loss. */
  lossRate: number;
  burstLoss: BurstLoss | null;
  duplicateRate: number;
  /** Probability that a datagram has 1..corruptBitsMax bits flipped. */
  corruptRate: number;
  /** CRC32C detects every error of up to 5 bits at these lengths; keep this at most 3. */
  corruptBitsMax: number;
  /** Fixed one-way propagation delay. */
  delayUs: number;
  /** Mean of an exponential extra delay per datagram: this is what reorders. */
  jitterMeanUs: number;
  /** Datagrams longer than this are dropped (no fragmentation, no ICMP). */
  pathMtuBytes: number;
  /** Bottleneck rate; 0 means unlimited. */
  bandwidthBytesPerSecond: number;
  /** Bottleneck queue; a datagram that does not fit is tail-dropped. */
  queueBytesMax: number;
  blackholes: Blackhole[];
}

export function perfectLink(): LinkImpairments {
  return {
    lossRate: 0,
    burstLoss: null,
    duplicateRate: 0,
    corruptRate: 0,
    corruptBitsMax: 3,
    delayUs: 10_000,
    jitterMeanUs: 0,
    pathMtuBytes: 65_507,
    bandwidthBytesPerSecond: 0,
    queueBytesMax: 1 << 20,
    blackholes: [],
  };
}

export interface Datagram {
  arrivalUs: number;
  sentUs: number;
  sequence: number;
  from: PeerAddress;
  to: PeerAddress;
  bytes: Uint8Array;
  corrupted: boolean;
  duplicate: boolean;
}

export interface NetworkCounters {
  sent: number;
  sentBytes: number;
  delivered: number;
  deliveredBytes: number;
  duplicated: number;
  corrupted: number;
  /** Datagrams lost, by reason: "loss", "burst-loss", "blackhole", "mtu", "queue-full", "in-flight-limit". */
  dropped: Record<string, number>;
}

interface LinkState {
  impairments: LinkImpairments;
  inBadState: boolean;
  /** Shared by links that go through one bottleneck (shareBottleneck). */
  bottleneck: Bottleneck;
  /** Datagrams this link dropped (any reason). */
  dropped: number;
}

interface Bottleneck {
  /** When the bottleneck finishes serialising what it already holds. */
  busyUntilUs: number;
  queue: QueueStats;
}

/** Time datagrams waited in one direction's bottleneck queue (congestion-control scenarios). */
export interface QueueStats {
  datagrams: number;
  waitUsSum: number;
  waitUsMax: number;
}

/** More datagrams than this in flight means a runaway sender: refuse and count. */
const inFlightMax = 2_000_000;

export class SimNetwork {
  readonly counters: NetworkCounters = {
    sent: 0,
    sentBytes: 0,
    delivered: 0,
    deliveredBytes: 0,
    duplicated: 0,
    corrupted: 0,
    dropped: {},
  };
  /** A running hash of every delivery (time, length, bytes): two runs of one seed must match. */
  traceHash = 0;

  private readonly prng: Prng;
  private readonly links = new Map<PeerAddress, Map<PeerAddress, LinkState>>();
  private readonly heap: Datagram[] = [];
  private sequence = 0;
  private defaultImpairments: LinkImpairments;

  constructor(prng: Prng, defaultImpairments: LinkImpairments = perfectLink()) {
    this.prng = prng;
    this.defaultImpairments = defaultImpairments;
  }

  /** Impairments for datagrams from `from` to `to` (one direction). */
  setLink(from: PeerAddress, to: PeerAddress, impairments: LinkImpairments): void {
    const link = this.link(from, to);
    link.impairments = impairments;
  }

  /** The same impairments both ways (each direction keeps its own queue and burst state). */
  setPath(a: PeerAddress, b: PeerAddress, impairments: LinkImpairments): void {
    this.setLink(a, b, impairments);
    this.setLink(b, a, { ...impairments, blackholes: impairments.blackholes.slice() });
  }

  /** Queueing at the bottleneck from `from` to `to` so far (counts only with a bandwidth cap). */
  queueStats(from: PeerAddress, to: PeerAddress): QueueStats {
    return this.link(from, to).bottleneck.queue;
  }

  /** Datagrams from `from` to `to` that the network dropped, for any reason. */
  droppedOn(from: PeerAddress, to: PeerAddress): number {
    return this.link(from, to).dropped;
  }

  /** From now on `from` -> `to` queues in the same bottleneck as `withFrom` -> `withTo` (two
   *  flows sharing one link); the rate and queue size are those of each link's impairments. */
  shareBottleneck(from: PeerAddress, to: PeerAddress, withFrom: PeerAddress, withTo: PeerAddress): void {
    this.link(from, to).bottleneck = this.link(withFrom, withTo).bottleneck;
  }

  impairments(from: PeerAddress, to: PeerAddress): LinkImpairments {
    return this.link(from, to).impairments;
  }

  /** The sequence number the next datagram put in flight will get (sends are numbered in order). */
  get nextSequence(): number {
    return this.sequence;
  }

  get inFlight(): number {
    return this.heap.length;
  }

  /** Earliest arrival time in flight, or Infinity. */
  nextArrivalUs(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0]!.arrivalUs;
  }

  /** Takes the next datagram due at or before `nowUs`, or null. */
  takeDue(nowUs: number): Datagram | null {
    if (this.heap.length === 0 || this.heap[0]!.arrivalUs > nowUs) return null;
    const datagram = this.heapPop();
    this.counters.delivered++;
    this.counters.deliveredBytes += datagram.bytes.length;
    this.traceHash = Bun.hash.xxHash32(datagram.bytes, (this.traceHash ^ datagram.arrivalUs) >>> 0);
    return datagram;
  }

  /** Puts a datagram on the wire at `nowUs`. `bytes` is copied. */
  send(nowUs: number, from: PeerAddress, to: PeerAddress, bytes: Uint8Array): void {
    this.counters.sent++;
    this.counters.sentBytes += bytes.length;
    const link = this.link(from, to);
    const impairments = link.impairments;
    if (inBlackhole(impairments, nowUs)) return this.dropOn(link, "blackhole");
    if (bytes.length > impairments.pathMtuBytes) return this.dropOn(link, "mtu");
    if (this.lost(link)) {
      link.dropped++;
      return;
    }
    const departureUs = this.departure(link, nowUs, bytes.length);
    if (departureUs < 0) return this.dropOn(link, "queue-full");
    const copy = bytes.slice();
    const corrupted = this.prng.chance(impairments.corruptRate);
    if (corrupted) this.corrupt(copy, impairments.corruptBitsMax);
    this.enqueue(nowUs, departureUs, from, to, copy, corrupted, false);
    if (this.prng.chance(impairments.duplicateRate)) {
      this.counters.duplicated++;
      this.enqueue(nowUs, departureUs, from, to, copy.slice(), corrupted, true);
    }
  }

  private enqueue(sentUs: number, departureUs: number, from: PeerAddress, to: PeerAddress, bytes: Uint8Array, corrupted: boolean, duplicate: boolean): void {
    const impairments = this.link(from, to).impairments;
    const jitterUs = impairments.jitterMeanUs > 0 ? Math.floor(this.prng.exponential(impairments.jitterMeanUs)) : 0;
    const arrivalUs = departureUs + impairments.delayUs + jitterUs;
    if (inBlackhole(impairments, arrivalUs)) return this.drop("blackhole");
    if (this.heap.length >= inFlightMax) return this.drop("in-flight-limit");
    this.heapPush({ arrivalUs, sentUs, sequence: this.sequence++, from, to, bytes, corrupted, duplicate });
  }

  private lost(link: LinkState): boolean {
    const impairments = link.impairments;
    const burst = impairments.burstLoss;
    if (burst !== null) {
      link.inBadState = link.inBadState ? !this.prng.chance(burst.badToGoodRate) : this.prng.chance(burst.goodToBadRate);
      if (this.prng.chance(link.inBadState ? burst.lossRateBad : burst.lossRateGood)) {
        this.drop("burst-loss");
        return true;
      }
    }
    if (this.prng.chance(impairments.lossRate)) {
      this.drop("loss");
      return true;
    }
    return false;
  }

  /** When the datagram leaves the bottleneck, or -1 when the queue is full. */
  private departure(link: LinkState, nowUs: number, lengthBytes: number): number {
    const rate = link.impairments.bandwidthBytesPerSecond;
    if (rate <= 0) return nowUs;
    const bottleneck = link.bottleneck;
    const startUs = Math.max(nowUs, bottleneck.busyUntilUs);
    const waitUs = startUs - nowUs;
    const queuedBytes = ((startUs - nowUs) * rate) / 1e6;
    if (queuedBytes + lengthBytes > link.impairments.queueBytesMax) return -1;
    bottleneck.busyUntilUs = startUs + (lengthBytes * 1e6) / rate;
    const queue = bottleneck.queue;
    queue.datagrams++;
    queue.waitUsSum += waitUs;
    if (waitUs > queue.waitUsMax) queue.waitUsMax = waitUs;
    return Math.ceil(bottleneck.busyUntilUs);
  }

  private corrupt(bytes: Uint8Array, bitsMax: number): void {
    if (bytes.length === 0) return;
    this.counters.corrupted++;
    const bitCount = this.prng.between(1, Math.max(1, bitsMax));
    const flipped = new Set<number>();
    // Distinct bits: flipping one bit twice would undo the corruption.
    for (let attempt = 0; flipped.size < Math.min(bitCount, bytes.length * 8) && attempt < 64; attempt++) {
      flipped.add(this.prng.below(bytes.length * 8));
    }
    for (const bit of flipped) bytes[bit >>> 3]! ^= 1 << (bit & 7);
  }

  private dropOn(link: LinkState, reason: string): void {
    link.dropped++;
    this.drop(reason);
  }

  private drop(reason: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
  }

  private link(from: PeerAddress, to: PeerAddress): LinkState {
    let outgoing = this.links.get(from);
    if (outgoing === undefined) {
      outgoing = new Map();
      this.links.set(from, outgoing);
    }
    let link = outgoing.get(to);
    if (link === undefined) {
      link = { impairments: { ...this.defaultImpairments, blackholes: this.defaultImpairments.blackholes.slice() }, inBadState: false, bottleneck: { busyUntilUs: 0, queue: { datagrams: 0, waitUsSum: 0, waitUsMax: 0 } }, dropped: 0 };
      outgoing.set(to, link);
    }
    return link;
  }

  private heapPush(datagram: Datagram): void {
    const heap = this.heap;
    heap.push(datagram);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private heapPop(): Datagram {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }
}

function earlier(a: Datagram, b: Datagram): boolean {
  return a.arrivalUs < b.arrivalUs || (a.arrivalUs === b.arrivalUs && a.sequence < b.sequence);
}

function inBlackhole(impairments: LinkImpairments, timeUs: number): boolean {
  for (const window of impairments.blackholes) {
    if (timeUs >= window.startUs && timeUs < window.endUs) return true;
  }
  return false;
}
