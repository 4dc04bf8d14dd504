// Seeded datagram mutations for the fuzzers: random bytes, truncations, bit flips, field
// mutations of valid packets, splices. Each mutation writes into one reused buffer (no
// allocation per datagram, so the in-process fuzz runs at millions per second) and says
// whether the CRC32C trailer was resealed: an unsealed mutation must be dropped, a resealed
// one reaches the parsers behind the checksum.
import { CHECKSUM_BYTES, DATA_HEADER_BYTES, LONG_HEADER_BYTES, PacketType } from "../../src/protocol/wire/packet.ts";
import { resealChecksum } from "./wireCraft.ts";

export const DATAGRAM_BYTES_MAX = 1500;

/** xorshift32: tiny, fast, reproducible from its seed. Not for cryptography. */
export class FastPrng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  nextU32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Integer in [0, bound). */
  below(bound: number): number {
    return this.nextU32() % bound;
  }
}

export const MutationKind = {
  randomBytes: 0,
  randomBytesSealed: 1,
  truncate: 2,
  truncateSealed: 3,
  bitFlips: 4,
  bitFlipsSealed: 5,
  fieldSealed: 6,
  spliceSealed: 7,
  extendSealed: 8,
  verbatim: 9,
} as const;

export const MUTATION_NAMES = ["random", "random-sealed", "truncate", "truncate-sealed", "bitflip", "bitflip-sealed", "field-sealed", "splice-sealed", "extend-sealed", "verbatim"];
const KINDS = MUTATION_NAMES.length;

/** Values that break varint and length parsing: boundaries of each varint width and the maximum. */
const VARINT_EDGES: readonly number[][] = [
  [0x00], [0x3f], [0x40, 0x00], [0x7f, 0xff], [0x80, 0x00, 0x00, 0x00], [0xbf, 0xff, 0xff, 0xff],
  [0xc0, 0, 0, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0xc0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
];
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x11, 0x13, 0x14, 0x17, 0x18, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xfe, 0xff];

/** Random bytes are copied from this seeded pool (memcpy speed) instead of drawn per byte. */
const RANDOM_POOL_BYTES = 1 << 16;

export class Mutator {
  readonly out = new Uint8Array(DATAGRAM_BYTES_MAX + 64);
  length = 0;
  kind = 0;
  sealed = false;
  private readonly pool = new Uint8Array(RANDOM_POOL_BYTES);

  constructor(readonly prng: FastPrng) {
    const words = new Uint32Array(this.pool.buffer);
    for (let i = 0; i < words.length; i++) words[i] = prng.nextU32();
  }

  /** Most parser bugs sit near the start and at small sizes: half the lengths are under 64. */
  private randomLength(max: number): number {
    return this.prng.below(2) === 0 ? this.prng.below(Math.min(64, max) + 1) : this.prng.below(max + 1);
  }

  private fillRandom(at: number, length: number): void {
    const from = this.prng.below(RANDOM_POOL_BYTES - length);
    this.out.set(this.pool.subarray(from, from + length), at);
  }

  /** Writes a mutation of `seed` into `out[0..length)`; returns the view. */
  mutate(seed: Uint8Array): Uint8Array {
    const prng = this.prng;
    this.kind = prng.below(KINDS);
    switch (this.kind) {
      case MutationKind.randomBytes:
        this.random(this.randomLength(DATAGRAM_BYTES_MAX));
        break;
      case MutationKind.randomBytesSealed:
        this.random(1 + this.randomLength(DATAGRAM_BYTES_MAX - 1));
        this.seal();
        break;
      case MutationKind.truncate:
        this.copy(seed, prng.below(seed.length));
        break;
      case MutationKind.truncateSealed:
        this.copy(seed, CHECKSUM_BYTES + 1 + prng.below(Math.max(1, seed.length - CHECKSUM_BYTES - 1)));
        this.seal();
        break;
      case MutationKind.bitFlips:
        this.copy(seed, seed.length);
        this.flipBits(1 + prng.below(8));
        break;
      case MutationKind.bitFlipsSealed:
        this.copy(seed, seed.length);
        this.flipBits(1 + prng.below(8));
        this.seal();
        break;
      case MutationKind.fieldSealed:
        this.copy(seed, seed.length);
        this.mutateField();
        this.seal();
        break;
      case MutationKind.spliceSealed:
        this.copy(seed, seed.length);
        this.splice();
        this.seal();
        break;
      case MutationKind.extendSealed:
        this.extend(seed);
        this.seal();
        break;
      default:
        this.copy(seed, seed.length); // replays and duplicates of valid packets
        this.sealed = true;
    }
    return this.out.subarray(0, this.length);
  }

  private random(length: number): void {
    this.fillRandom(0, length);
    this.length = length;
    this.sealed = false;
  }

  private copy(seed: Uint8Array, length: number): void {
    this.out.set(seed.subarray(0, length), 0);
    this.length = length;
    this.sealed = false;
  }

  private seal(): void {
    if (this.length <= CHECKSUM_BYTES) return;
    resealChecksum(this.out.subarray(0, this.length));
    this.sealed = true;
  }

  private flipBits(count: number): void {
    const body = Math.max(1, this.length - CHECKSUM_BYTES);
    for (let i = 0; i < count; i++) this.out[this.prng.below(body)] ^= 1 << this.prng.below(8);
  }

  /** Overwrites a header field or a frame byte with a boundary value. */
  private mutateField(): void {
    const out = this.out;
    const prng = this.prng;
    const body = this.length - CHECKSUM_BYTES;
    if (body < 1) return;
    const isData = out[0] === PacketType.data;
    const headerBytes = isData ? DATA_HEADER_BYTES : LONG_HEADER_BYTES;
    switch (prng.below(6)) {
      case 0: // packet type
        out[0] = INTERESTING_BYTES[prng.below(INTERESTING_BYTES.length)]!;
        break;
      case 1: { // version / packet number / connection ID word
        const at = 1 + 4 * prng.below(Math.max(1, Math.floor((headerBytes - 1) / 4)));
        const value = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, prng.nextU32()][prng.below(6)]!;
        if (at + 4 <= body) {
          out[at] = value >>> 24;
          out[at + 1] = (value >>> 16) & 0xff;
          out[at + 2] = (value >>> 8) & 0xff;
          out[at + 3] = value & 0xff;
        }
        break;
      }
      case 2: // a varint edge anywhere after the header (lengths, ranges, ids)
      case 3: {
        const edge = VARINT_EDGES[prng.below(VARINT_EDGES.length)]!;
        const span = Math.max(1, body - headerBytes);
        const at = Math.min(body - 1, headerBytes + prng.below(span));
        for (let i = 0; i < edge.length && at + i < body; i++) out[at + i] = edge[i]!;
        break;
      }
      case 4: { // a frame type byte
        const at = Math.min(body - 1, headerBytes + prng.below(Math.max(1, body - headerBytes)));
        out[at] = INTERESTING_BYTES[prng.below(INTERESTING_BYTES.length)]!;
        break;
      }
      default: { // a run of 0x00 or 0xff
        const at = prng.below(body);
        const run = 1 + prng.below(16);
        const fill = prng.below(2) === 0 ? 0 : 0xff;
        for (let i = at; i < Math.min(body, at + run); i++) out[i] = fill;
      }
    }
  }

  /** Keeps the header, replaces a random tail with random bytes. */
  private splice(): void {
    const prng = this.prng;
    const keep = Math.min(this.length, 1 + prng.below(Math.max(1, this.length)));
    const length = Math.min(DATAGRAM_BYTES_MAX, keep + CHECKSUM_BYTES + prng.below(256));
    this.fillRandom(keep, length - keep);
    this.length = length;
  }

  /** The seed's body followed by random or repeated bytes (trailing frames, padding). */
  private extend(seed: Uint8Array): void {
    const prng = this.prng;
    const body = Math.max(0, seed.length - CHECKSUM_BYTES);
    this.out.set(seed.subarray(0, body), 0);
    const extra = 1 + this.randomLength(Math.max(1, DATAGRAM_BYTES_MAX - body - CHECKSUM_BYTES) - 1);
    if (prng.below(2) === 0 && body > DATA_HEADER_BYTES) {
      // Repeat the frames: many frames in one packet.
      for (let i = 0; i < extra; i++) this.out[body + i] = seed[DATA_HEADER_BYTES + (i % (body - DATA_HEADER_BYTES))]!;
    } else {
      this.fillRandom(body, extra);
    }
    this.length = body + extra + CHECKSUM_BYTES;
  }
}
