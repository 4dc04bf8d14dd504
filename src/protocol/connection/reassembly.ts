// Reassembly of fragmented messages. Memory is bounded per connection and across the engine:
// a fragment that would exceed either bound is refused (and, for reliable modes, its packet
// left unacknowledged so the peer sends it again later). Partial unreliable messages are the
// first to be evicted when room is needed, since nobody will resend their missing parts.
import { fragmentLength, fragmentSize, isReliableMode } from "../wire/frames.ts";

/** Partial messages are keyed by (messageId, mode, channel) in one exact integer, so ids stay below 2^43. */
export const FRAGMENTED_MESSAGE_ID_MAX = 2 ** 43 - 1;

export interface ReassemblyBudget {
  /** Bytes held by partial messages across all connections. */
  reassemblyBytesInUse: number;
  readonly reassemblyBytesTotalMax: number;
  /** A partial unreliable message was given up (room needed, or too old). */
  onReassemblyEvicted(): void;
}

export class PartialMessage {
  readonly buffer: Uint8Array;
  readonly received: Uint8Array;
  receivedCount = 0;

  constructor(
    readonly key: number,
    readonly modeCode: number,
    totalLength: number,
    readonly fragmentCount: number,
    readonly createdUs: number,
  ) {
    this.buffer = new Uint8Array(totalLength);
    this.received = new Uint8Array(fragmentCount);
  }
}

export const FragmentVerdict = { pending: 0, complete: 1, refused: 2, duplicate: 3, malformed: 4 } as const;

/** Shared by every connection with nothing to reassemble; never written (see add/remove). */
const NO_PARTIALS: ReadonlyMap<number, PartialMessage> = new Map();

export class Reassembly {
  /** NO_PARTIALS until a first fragment, and again once the last partial is gone (issue 13). */
  private partials = NO_PARTIALS as Map<number, PartialMessage>;
  bytesInUse = 0;
  completed: PartialMessage | null = null;

  constructor(
    private readonly budget: ReassemblyBudget,
    private readonly bytesPerConnectionMax: number,
    private readonly messageBytesMax: number,
  ) {}

  get partialCount(): number {
    return this.partials.size;
  }

  /** Adds one fragment; on `complete` the message is in `this.completed`. */
  add(nowUs: number, channel: number, messageId: number, modeCode: number, fragmentIndex: number, fragmentCount: number,
      totalLength: number, data: Uint8Array, start: number, length: number): number {
    // Bounds checked here too, not only by the parser: an index past the count would mark a
    // fragment that does not exist and let the real ones complete a message with a hole.
    if (!fragmentFits(messageId, fragmentIndex, fragmentCount, totalLength, length)) return FragmentVerdict.malformed;
    // Modes number their messages separately (PROTOCOL.md §4), so the mode is part of the key.
    const key = (messageId * 4 + modeCode) * 256 + channel;
    let partial = this.partials.get(key);
    if (partial === undefined) {
      if (totalLength > this.messageBytesMax) return FragmentVerdict.malformed;
      if (!this.makeRoom(totalLength)) return FragmentVerdict.refused;
      partial = new PartialMessage(key, modeCode, totalLength, fragmentCount, nowUs);
      if (this.partials === NO_PARTIALS) this.partials = new Map();
      this.partials.set(key, partial);
      this.bytesInUse += totalLength;
      this.budget.reassemblyBytesInUse += totalLength;
    } else if (partial.fragmentCount !== fragmentCount || partial.buffer.length !== totalLength) {
      return FragmentVerdict.malformed;
    }
    if (partial.received[fragmentIndex] === 1) return FragmentVerdict.duplicate;
    partial.received[fragmentIndex] = 1;
    partial.receivedCount++;
    partial.buffer.set(data.subarray(start, start + length), fragmentIndex * fragmentSize(totalLength, fragmentCount));
    if (partial.receivedCount < fragmentCount) return FragmentVerdict.pending;
    this.remove(partial);
    this.completed = partial;
    return FragmentVerdict.complete;
  }

  private remove(partial: PartialMessage): void {
    this.partials.delete(partial.key);
    if (this.partials.size === 0) this.partials = NO_PARTIALS as Map<number, PartialMessage>; // iterators over the old map still end
    this.bytesInUse -= partial.buffer.length;
    this.budget.reassemblyBytesInUse -= partial.buffer.length;
  }

  /** Evicts partial unreliable messages (oldest first) until `bytes` more fit both bounds. */
  private makeRoom(bytes: number): boolean {
    const fits = () =>
      this.bytesInUse + bytes <= this.bytesPerConnectionMax &&
      this.budget.reassemblyBytesInUse + bytes <= this.budget.reassemblyBytesTotalMax;
    if (fits()) return true;
    for (const partial of this.partials.values()) {
      if (isReliableMode(partial.modeCode)) continue;
      this.remove(partial);
      this.budget.onReassemblyEvicted();
      if (fits()) return true;
    }
    return false;
  }

  /** Drops partial unreliable messages older than `ageUs`; returns how many. */
  evictOlderThan(nowUs: number, ageUs: number): number {
    let evicted = 0;
    for (const partial of this.partials.values()) {
      if (!isReliableMode(partial.modeCode) && nowUs - partial.createdUs > ageUs) {
        this.remove(partial);
        this.budget.onReassemblyEvicted();
        evicted++;
      }
    }
    return evicted;
  }

  /** Releases everything (connection closed). */
  clear(): void {
    for (const partial of this.partials.values()) this.remove(partial);
  }
}

function fragmentFits(messageId: number, fragmentIndex: number, fragmentCount: number, totalLength: number, length: number): boolean {
  if (messageId > FRAGMENTED_MESSAGE_ID_MAX || fragmentCount < 2 || fragmentIndex >= fragmentCount) return false;
  if (totalLength <= fragmentSize(totalLength, fragmentCount) * (fragmentCount - 1)) return false; // empty last fragment
  return length === fragmentLength(totalLength, fragmentCount, fragmentIndex);
}
