// A bounds-checked cursor over received bytes. Every read returns -1 on truncation or an
// out-of-range value and sets `failure`, so network input never throws; one instance is
// reused for every datagram (no allocation per packet).
import { VARINT_MAX } from "./varint.ts";

export type ReadFailure = "" | "truncated" | "malformed";

export class ByteReader {
  bytes: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  failure: ReadFailure = "";

  reset(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    this.failure = "";
  }

  remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: ReadFailure): number {
    if (this.failure === "") this.failure = reason;
    this.pos = this.end;
    return -1;
  }

  u8(): number {
    if (this.pos >= this.end) return this.fail("truncated");
    return this.bytes[this.pos++];
  }

  u32be(): number {
    const p = this.pos;
    if (p + 4 > this.end) return this.fail("truncated");
    const b = this.bytes;
    this.pos = p + 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  varint(): number {
    const p = this.pos;
    if (p >= this.end) return this.fail("truncated");
    const b = this.bytes;
    const first = b[p];
    const prefix = first >>> 6;
    if (prefix === 0) {
      this.pos = p + 1;
      return first;
    }
    if (prefix === 1) {
      if (p + 2 > this.end) return this.fail("truncated");
      this.pos = p + 2;
      return ((first & 0x3f) << 8) | b[p + 1];
    }
    if (prefix === 2) {
      if (p + 4 > this.end) return this.fail("truncated");
      this.pos = p + 4;
      return (((first & 0x3f) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    }
    if (p + 8 > this.end) return this.fail("truncated");
    const high = (((first & 0x3f) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    const low = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
    const value = high * 0x100000000 + low;
    if (value > VARINT_MAX) return this.fail("malformed");
    this.pos = p + 8;
    return value;
  }

  /** Skips `length` bytes; returns their start offset or -1. */
  skip(length: number): number {
    const p = this.pos;
    if (length < 0 || p + length > this.end) return this.fail("truncated");
    this.pos = p + length;
    return p;
  }
}
