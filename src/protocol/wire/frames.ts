// Frames carried inside DATA packets (docs/PROTOCOL.md §4). Writers put bytes straight into
// the caller's buffer; FrameReader decodes one frame at a time into its own reused fields,
// so neither side allocates per frame.
import type { DeliveryMode } from "../api.ts";
import { ByteReader } from "./byteReader.ts";
import { varintLength, writeVarint } from "./varint.ts";

export const FrameType = {
  padding: 0x00,
  ping: 0x01,
  ack: 0x02,
  close: 0x03,
  maxData: 0x04,
  /** 0x10..0x17: 0x10 | deliveryMode << 1 | fragmented */
  message: 0x10,
} as const;

export const DeliveryModeCode = { reliableOrdered: 0, reliableUnordered: 1, unreliable: 2, unreliableSequenced: 3 } as const;
export const DELIVERY_MODES: readonly DeliveryMode[] = ["reliable-ordered", "reliable-unordered", "unreliable", "unreliable-sequenced"];

export function deliveryModeCode(mode: DeliveryMode): number {
  switch (mode) {
    case "reliable-ordered":
      return 0;
    case "reliable-unordered":
      return 1;
    case "unreliable":
      return 2;
    default:
      return 3;
  }
}

export function isReliableMode(code: number): boolean {
  return code <= 1;
}

/** Ranges one ACK frame may carry (first range included); more are refused as malformed. */
export const MAX_ACK_RANGES = 64;
export const MAX_CLOSE_MESSAGE_BYTES = 256;
/** Worst-case bytes of a MESSAGE frame before its payload (all varints 8 bytes). */
export const MESSAGE_FRAME_OVERHEAD_MAX = 1 + 1 + 8 + 8 + 8 + 8 + 8;

export function writePing(out: Uint8Array, pos: number): number {
  out[pos] = FrameType.ping;
  return pos + 1;
}

export function writeMaxData(out: Uint8Array, pos: number, maxDataBytes: number): number {
  out[pos] = FrameType.maxData;
  return writeVarint(out, pos + 1, maxDataBytes);
}

export function closeFrameLength(messageBytes: number): number {
  return 1 + 1 + 8 + varintLength(messageBytes) + messageBytes;
}

export function writeClose(out: Uint8Array, pos: number, reasonCode: number, closeCode: number, message: Uint8Array): number {
  out[pos] = FrameType.close;
  out[pos + 1] = reasonCode;
  let p = writeVarint(out, pos + 2, closeCode);
  p = writeVarint(out, p, message.length);
  out.set(message, p);
  return p + message.length;
}

/** Header of a MESSAGE frame; the caller copies `payloadLength` bytes after it. */
export function writeMessageHeader(
  out: Uint8Array,
  pos: number,
  modeCode: number,
  channel: number,
  messageId: number,
  fragmentIndex: number,
  fragmentCount: number,
  totalLength: number,
  payloadLength: number,
): number {
  const fragmented = fragmentCount > 1;
  out[pos] = FrameType.message | (modeCode << 1) | (fragmented ? 1 : 0);
  out[pos + 1] = channel;
  let p = writeVarint(out, pos + 2, messageId);
  if (fragmented) {
    p = writeVarint(out, p, fragmentIndex);
    p = writeVarint(out, p, fragmentCount);
    p = writeVarint(out, p, totalLength);
  }
  return writeVarint(out, p, payloadLength);
}

/** The hot-path form of a MESSAGE header: a whole (unfragmented) message. */
export function writeWholeMessageHeader(out: Uint8Array, pos: number, modeCode: number, channel: number, messageId: number, payloadLength: number): number {
  out[pos] = FrameType.message | (modeCode << 1);
  out[pos + 1] = channel;
  return writeVarint(out, writeVarint(out, pos + 2, messageId), payloadLength);
}

export function wholeMessageHeaderLength(messageId: number, payloadLength: number): number {
  return 2 + varintLength(messageId) + varintLength(payloadLength);
}

export function messageHeaderLength(messageId: number, fragmentIndex: number, fragmentCount: number, totalLength: number, payloadLength: number): number {
  let n = 2 + varintLength(messageId) + varintLength(payloadLength);
  if (fragmentCount > 1) n += varintLength(fragmentIndex) + varintLength(fragmentCount) + varintLength(totalLength);
  return n;
}

/** ACK ranges as descending [largest, smallest] pairs, newest first (RFC 9000 §19.3 encoding). */
export function writeAck(out: Uint8Array, pos: number, ranges: Float64Array, rangeCount: number, ackDelayUs: number, limit: number): number {
  const largest = ranges[0];
  let p = pos;
  out[p++] = FrameType.ack;
  p = writeVarint(out, p, largest);
  p = writeVarint(out, p, ackDelayUs);
  const countPos = p;
  // Range count is written as a 1-byte varint (< 64 ranges) so that it can be patched after
  // we learn how many ranges fit.
  p += 1;
  p = writeVarint(out, p, largest - ranges[1]);
  let written = 0;
  for (let i = 1; i < rangeCount; i++) {
    const gap = ranges[(i - 1) * 2 + 1] - ranges[i * 2] - 2;
    const length = ranges[i * 2] - ranges[i * 2 + 1];
    if (p + varintLength(gap) + varintLength(length) > limit) break;
    p = writeVarint(out, p, gap);
    p = writeVarint(out, p, length);
    written++;
  }
  out[countPos] = written;
  return p;
}

/** Bytes an ACK frame needs at most for `rangeCount` ranges of packet numbers below 2^53. */
export function ackFrameLengthMax(rangeCount: number): number {
  return 1 + 8 + 8 + 1 + 8 + (rangeCount - 1) * 16;
}

export class FrameReader {
  readonly reader = new ByteReader();
  // ACK
  ackLargest = 0;
  ackDelayUs = 0;
  ackRangeCount = 0;
  /** [largest0, smallest0, largest1, smallest1, ...] descending. */
  readonly ackRanges = new Float64Array(MAX_ACK_RANGES * 2);
  // CLOSE
  closeReasonCode = 0;
  closeCode = 0;
  closeMessageStart = 0;
  closeMessageLength = 0;
  // MAX_DATA
  maxDataBytes = 0;
  // MESSAGE
  modeCode = 0;
  channel = 0;
  messageId = 0;
  fragmentIndex = 0;
  fragmentCount = 1;
  totalLength = 0;
  payloadStart = 0;
  payloadLength = 0;

  reset(bytes: Uint8Array, start: number, end: number): void {
    this.reader.reset(bytes, start, end);
  }

  /** Decodes the next frame; returns its type byte, -1 at the end, or -2 on error (see reader.failure). */
  next(): number {
    const r = this.reader;
    if (r.pos >= r.end) return -1;
    const type = r.u8();
    if (type === FrameType.padding) return type;
    if (type === FrameType.ping) return type;
    if (type === FrameType.ack) return this.readAck() ? type : -2;
    if (type === FrameType.close) return this.readClose() ? type : -2;
    if (type === FrameType.maxData) {
      this.maxDataBytes = r.varint();
      return this.maxDataBytes < 0 ? -2 : type;
    }
    if ((type & 0xf8) === FrameType.message) return this.readMessage(type) ? FrameType.message : -2;
    r.fail("malformed");
    return -2;
  }

  private readAck(): boolean {
    const r = this.reader;
    const largest = r.varint();
    const delay = r.varint();
    const extraRanges = r.varint();
    const firstLength = r.varint();
    if (r.failure !== "") return false;
    if (extraRanges >= MAX_ACK_RANGES || firstLength > largest) return r.fail("malformed") === 0;
    const ranges = this.ackRanges;
    ranges[0] = largest;
    ranges[1] = largest - firstLength;
    let smallest = largest - firstLength;
    for (let i = 1; i <= extraRanges; i++) {
      const gap = r.varint();
      const length = r.varint();
      if (r.failure !== "") return false;
      const high = smallest - gap - 2;
      const low = high - length;
      if (low < 0) return r.fail("malformed") === 0;
      ranges[i * 2] = high;
      ranges[i * 2 + 1] = low;
      smallest = low;
    }
    this.ackLargest = largest;
    this.ackDelayUs = delay;
    this.ackRangeCount = extraRanges + 1;
    return true;
  }

  private readClose(): boolean {
    const r = this.reader;
    this.closeReasonCode = r.u8();
    this.closeCode = r.varint();
    const length = r.varint();
    if (r.failure !== "") return false;
    if (length > MAX_CLOSE_MESSAGE_BYTES) return r.fail("malformed") === 0;
    const start = r.skip(length);
    if (start < 0) return false;
    this.closeMessageStart = start;
    this.closeMessageLength = length;
    return true;
  }

  private readMessage(type: number): boolean {
    const r = this.reader;
    this.modeCode = (type >>> 1) & 3;
    this.channel = r.u8();
    this.messageId = r.varint();
    if ((type & 1) !== 0) {
      this.fragmentIndex = r.varint();
      this.fragmentCount = r.varint();
      this.totalLength = r.varint();
      if (r.failure !== "") return false;
      const count = this.fragmentCount;
      if (count < 2 || this.fragmentIndex >= count || this.totalLength <= fragmentSize(this.totalLength, count) * (count - 1)) {
        return r.fail("malformed") === 0;
      }
    } else {
      this.fragmentIndex = 0;
      this.fragmentCount = 1;
      this.totalLength = 0;
    }
    const length = r.varint();
    if (r.failure !== "") return false;
    const start = r.skip(length);
    if (start < 0) return false;
    if (this.fragmentCount === 1) this.totalLength = length;
    else if (length !== fragmentLength(this.totalLength, this.fragmentCount, this.fragmentIndex)) return r.fail("malformed") === 0;
    this.payloadStart = start;
    this.payloadLength = length;
    return true;
  }
}

/** Fragments are equal, ceil(total / count) bytes, except the last which holds the rest. */
export function fragmentSize(totalLength: number, fragmentCount: number): number {
  return Math.ceil(totalLength / fragmentCount);
}

export function fragmentLength(totalLength: number, fragmentCount: number, fragmentIndex: number): number {
  const size = fragmentSize(totalLength, fragmentCount);
  if (fragmentIndex < fragmentCount - 1) return size;
  return totalLength - size * (fragmentCount - 1);
}
