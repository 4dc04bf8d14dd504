// Seeded pseudo-random numbers for the simulator: xoshiro128** (Blackman & Vigna), seeded
// through splitmix32 so that nearby seeds (1, 2, 3, ...) give unrelated streams. Written out
// here rather than imported so that a seed replays the same run on every machine forever.

/** splitmix32: one step of a 32-bit mixing sequence; used only to expand a seed into state. */
function splitmix32Next(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    const mixer = { value: seed >>> 0 };
    this.s0 = splitmix32Next(mixer);
    this.s1 = splitmix32Next(mixer);
    this.s2 = splitmix32Next(mixer);
    this.s3 = splitmix32Next(mixer);
    // xoshiro must not start from all zeros; splitmix32 never yields four zeros, but be explicit.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A fresh, independent stream derived from this one (for per-link or per-engine streams). */
  fork(): Prng {
    return new Prng(this.nextU32());
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, bound); bound at most 2^32. */
  below(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  /** Uniform integer in [min, max] inclusive. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `probability`; consumes one draw even when probability is 0,
   *  so that changing one rate does not shift every later draw of the stream. */
  chance(probability: number): boolean {
    return this.nextFloat() < probability;
  }

  /** Exponentially distributed with the given mean (inverse transform sampling). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.nextFloat());
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** Fills `out` with random bytes, four at a time. */
  fillBytes(out: Uint8Array): void {
    const whole = out.length & ~3;
    for (let i = 0; i < whole; i += 4) {
      const value = this.nextU32();
      out[i] = value & 0xff;
      out[i + 1] = (value >>> 8) & 0xff;
      out[i + 2] = (value >>> 16) & 0xff;
      out[i + 3] = value >>> 24;
    }
    if (whole < out.length) {
      let value = this.nextU32();
      for (let i = whole; i < out.length; i++) {
        out[i] = value & 0xff;
        value >>>= 8;
      }
    }
  }
}

function rotl(value: number, shift: number): number {
  return (value << shift) | (value >>> (32 - shift));
}
