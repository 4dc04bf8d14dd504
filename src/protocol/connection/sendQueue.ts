// Messages the application queued and the connection has not finished with: copied into
// one byte buffer, described by typed-array slots indexed by a per-connection serial number.
// A reliable message lives until every fragment is acknowledged; an unreliable one until
// every fragment was sent once. Slots and bytes grow on demand up to fixed limits.
import { fragmentLength, fragmentSize, isReliableMode } from "../wire/frames.ts";
import type { SendAccount } from "../memoryBudget.ts";

/** Initial send-buffer bytes per connection (it grows by doubling up to bufferBytesMax). */
const SEND_BYTES_INITIAL = 2 * 1024;

export const EnqueueResult = { queued: 0, bufferFull: 1, tooManyMessages: 2 } as const;

export class SendQueue {
  private capacity = 64;
  private mask = 63;
  private headIndex = 0;
  /** Serial of the oldest live (or not yet released) message, and the next serial to give. */
  headSerial = 0;
  tailSerial = 0;
  /** Oldest message with fragments never sent. */
  nextUnsentSerial = 0;

  channel = new Uint8Array(64);
  modeCode = new Uint8Array(64);
  messageId = new Float64Array(64);
  dataOffset = new Float64Array(64);
  length = new Uint32Array(64);
  fragmentCount = new Uint32Array(64);
  nextFragment = new Uint32Array(64);
  fragmentsUnacked = new Uint32Array(64);
  done = new Uint8Array(64);
  fragmentAcked: (Uint8Array | null)[] = new Array(64).fill(null);

  bytes: Uint8Array;
  private dataTail = 0;
  liveBytes = 0;
  /** The endpoint's memory budget: live bytes are counted there too (memoryBudget.ts). */
  account: SendAccount | null = null;
  readonly channelBytes = new Float64Array(256);
  private readonly nextMessageId = new Float64Array(256);

  constructor(
    readonly bufferBytesMax: number,
    readonly channelBytesMax: number,
    readonly messagesMax: number,
    readonly fragmentPayloadMax: number,
  ) {
    // Small to start: an idle connection should cost little; reserveBytes doubles on demand.
    this.bytes = new Uint8Array(Math.min(bufferBytesMax, SEND_BYTES_INITIAL));
  }

  isEmpty(): boolean {
    return this.headSerial === this.tailSerial;
  }

  hasUnsent(): boolean {
    return this.nextUnsentSerial < this.tailSerial;
  }

  slotOf(serial: number): number {
    return (this.headIndex + (serial - this.headSerial)) & this.mask;
  }

  isLive(serial: number): boolean {
    return serial >= this.headSerial && serial < this.tailSerial && this.done[this.slotOf(serial)] === 0;
  }

  enqueue(channel: number, modeCode: number, data: Uint8Array): number {
    const length = data.length;
    if (this.liveBytes + length > this.bufferBytesMax || this.channelBytes[channel] + length > this.channelBytesMax) {
      return EnqueueResult.bufferFull;
    }
    const queued = this.tailSerial - this.headSerial;
    if (queued === this.capacity) {
      if (this.capacity >= this.messagesMax) return EnqueueResult.tooManyMessages;
      this.growSlots();
    }
    const offset = this.reserveBytes(length);
    if (offset < 0) return EnqueueResult.bufferFull;
    this.bytes.set(data, offset); // whole-array set: no view allocated, faster than a loop

    const slot = (this.headIndex + queued) & this.mask;
    const count = length <= this.fragmentPayloadMax ? 1 : Math.ceil(length / this.fragmentPayloadMax);
    this.channel[slot] = channel;
    this.modeCode[slot] = modeCode;
    this.messageId[slot] = this.nextMessageId[channel]++;
    this.dataOffset[slot] = offset;
    this.length[slot] = length;
    this.fragmentCount[slot] = count;
    this.nextFragment[slot] = 0;
    this.fragmentsUnacked[slot] = count;
    this.done[slot] = 0;
    this.fragmentAcked[slot] = count > 1 && isReliableMode(modeCode) ? new Uint8Array(count) : null;
    this.tailSerial++;
    this.liveBytes += length;
    if (this.account !== null) this.account.sendBytesHeld += length;
    this.channelBytes[channel] += length;
    return EnqueueResult.queued;
  }

  /** Offset and length of fragment `fragment` of the message in `slot`. */
  fragmentOffset(slot: number, fragment: number): number {
    return this.dataOffset[slot] + fragment * fragmentSize(this.length[slot], this.fragmentCount[slot]);
  }

  fragmentBytes(slot: number, fragment: number): number {
    return fragmentLength(this.length[slot], this.fragmentCount[slot], fragment);
  }

  isFragmentAcked(slot: number, fragment: number): boolean {
    const acked = this.fragmentAcked[slot];
    return acked !== null ? acked[fragment] === 1 : this.fragmentsUnacked[slot] === 0;
  }

  /** Marks a fragment acknowledged; releases the message when it was the last. */
  ackFragment(serial: number, fragment: number): void {
    if (!this.isLive(serial)) return;
    const slot = this.slotOf(serial);
    const acked = this.fragmentAcked[slot];
    if (acked !== null) {
      if (acked[fragment] === 1) return;
      acked[fragment] = 1;
    }
    if (--this.fragmentsUnacked[slot] === 0) this.finish(slot);
  }

  /** Called after the first transmission of a fragment. */
  onFragmentSent(slot: number): void {
    const next = ++this.nextFragment[slot];
    if (next < this.fragmentCount[slot]) return;
    this.nextUnsentSerial++;
    if (!isReliableMode(this.modeCode[slot])) this.finish(slot);
  }

  private finish(slot: number): void {
    this.done[slot] = 1;
    this.fragmentAcked[slot] = null;
    const length = this.length[slot];
    this.liveBytes -= length;
    if (this.account !== null) this.account.sendBytesHeld -= length;
    this.channelBytes[this.channel[slot]] -= length;
    while (this.headSerial < this.tailSerial && this.done[this.headIndex] === 1 && this.headSerial < this.nextUnsentSerial) {
      this.headIndex = (this.headIndex + 1) & this.mask;
      this.headSerial++;
    }
    if (this.headSerial === this.tailSerial) this.dataTail = 0;
  }

  /** Returns an offset with `length` free contiguous bytes, compacting or growing; -1 if impossible.
   *  The buffer at least doubles whenever compaction would leave it more than half full, so each
   *  byte is moved O(1) times on average. */
  private reserveBytes(length: number): number {
    if (this.dataTail + length > this.bytes.length) {
      this.compact();
      const needed = this.dataTail + length;
      if (needed * 2 > this.bytes.length) {
        const limit = 2 * this.bufferBytesMax;
        if (needed > limit) return -1;
        const grown = new Uint8Array(Math.min(limit, Math.max(needed * 2, this.bytes.length * 2)));
        grown.set(this.bytes.subarray(0, this.dataTail));
        this.bytes = grown;
      }
    }
    const offset = this.dataTail;
    this.dataTail += length;
    return offset;
  }

  /** Moves the bytes from the oldest queued message on to the front of the buffer. Messages
   *  are stored in serial order, so that is one copy; released messages in between stay as
   *  holes until the head passes them. */
  private compact(): void {
    if (this.headSerial === this.tailSerial) {
      this.dataTail = 0;
      return;
    }
    const start = this.dataOffset[this.headIndex];
    if (start === 0) return;
    this.bytes.copyWithin(0, start, this.dataTail);
    for (let serial = this.headSerial; serial < this.tailSerial; serial++) this.dataOffset[this.slotOf(serial)] -= start;
    this.dataTail -= start;
  }

  private growSlots(): void {
    const capacity = this.capacity * 2;
    const count = this.tailSerial - this.headSerial;
    const move = <T extends Uint8Array | Uint32Array | Float64Array>(from: T, into: T): T => {
      for (let k = 0; k < count; k++) into[k] = from[(this.headIndex + k) & this.mask];
      return into;
    };
    this.channel = move(this.channel, new Uint8Array(capacity));
    this.modeCode = move(this.modeCode, new Uint8Array(capacity));
    this.messageId = move(this.messageId, new Float64Array(capacity));
    this.dataOffset = move(this.dataOffset, new Float64Array(capacity));
    this.length = move(this.length, new Uint32Array(capacity));
    this.fragmentCount = move(this.fragmentCount, new Uint32Array(capacity));
    this.nextFragment = move(this.nextFragment, new Uint32Array(capacity));
    this.fragmentsUnacked = move(this.fragmentsUnacked, new Uint32Array(capacity));
    this.done = move(this.done, new Uint8Array(capacity));
    const acked: (Uint8Array | null)[] = new Array(capacity).fill(null);
    for (let k = 0; k < count; k++) acked[k] = this.fragmentAcked[(this.headIndex + k) & this.mask];
    this.fragmentAcked = acked;
    this.headIndex = 0;
    this.capacity = capacity;
    this.mask = capacity - 1;
  }
}

/** Fragments waiting for retransmission, oldest first, as (serial, fragment) pairs. */
export class RetransmitQueue {
  private capacity = 64;
  private head = 0;
  count = 0;
  private serial = new Float64Array(64);
  private fragment = new Uint32Array(64);

  push(serial: number, fragment: number): void {
    if (this.count === this.capacity) this.grow();
    const i = (this.head + this.count) & (this.capacity - 1);
    this.serial[i] = serial;
    this.fragment[i] = fragment;
    this.count++;
  }

  peekSerial(): number {
    return this.serial[this.head];
  }

  peekFragment(): number {
    return this.fragment[this.head];
  }

  pop(): void {
    this.head = (this.head + 1) & (this.capacity - 1);
    this.count--;
  }

  clear(): void {
    this.count = 0;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const serial = new Float64Array(capacity);
    const fragment = new Uint32Array(capacity);
    for (let k = 0; k < this.count; k++) {
      serial[k] = this.serial[(this.head + k) & (this.capacity - 1)];
      fragment[k] = this.fragment[(this.head + k) & (this.capacity - 1)];
    }
    this.serial = serial;
    this.fragment = fragment;
    this.head = 0;
    this.capacity = capacity;
  }
}
