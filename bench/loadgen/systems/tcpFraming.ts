// Length-prefixed framing for the TCP peer and client: [u32 little-endian length][payload].
// The decoder keeps a bounded reassembly buffer and calls back once per complete frame.

export const frameHeaderBytes = 4;

export class FrameDecoder {
  private buffer: Uint8Array;
  private length = 0;
  /** Frames whose declared length exceeded the limit: the stream is then unusable. */
  oversizedFrames = 0;

  constructor(
    private readonly onFrame: (payload: Uint8Array) => void,
    readonly frameBytesMax: number,
  ) {
    this.buffer = new Uint8Array(Math.min(frameBytesMax + frameHeaderBytes, 64 * 1024));
  }

  /** Returns false if the stream broke the framing limit. */
  push(chunk: Uint8Array): boolean {
    let offset = 0;
    // Fast path: whole frames straight from the chunk when nothing is buffered.
    if (this.length === 0) offset = this.consumeWhole(chunk);
    if (offset < 0) return false;
    if (offset < chunk.length) {
      this.append(chunk.subarray(offset));
      const used = this.consumeWhole(this.buffer.subarray(0, this.length));
      if (used < 0) return false;
      this.buffer.copyWithin(0, used, this.length);
      this.length -= used;
    }
    return true;
  }

  private consumeWhole(bytes: Uint8Array): number {
    let offset = 0;
    while (bytes.length - offset >= frameHeaderBytes) {
      const size = (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
      if (size > this.frameBytesMax) {
        this.oversizedFrames++;
        return -1;
      }
      if (bytes.length - offset - frameHeaderBytes < size) break;
      this.onFrame(bytes.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + size));
      offset += frameHeaderBytes + size;
    }
    return offset;
  }

  private append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
}

export function writeFrameHeader(out: Uint8Array, offset: number, size: number): void {
  out[offset] = size;
  out[offset + 1] = size >>> 8;
  out[offset + 2] = size >>> 16;
  out[offset + 3] = size >>> 24;
}
