// Native send staging + one sendmmsg FFI call per flush (zig/src/batch_io.zig).
//
//   const sender = new NativeSender(socket, { slots: 256, slotBytes: 2048 });
//   const view = sender.slot();            // next free staging slot, or null when full
//   view.set(bytes); sender.commit(bytes.length, addrBuf, addrOffset);
//   sender.flush();                         // datagrams sent; the rest stays staged
//
// Staging is a circular array of fixed slots in native memory (page-aligned mmap): the
// payload area followed by 24-byte metadata per slot (u32 length, 20-byte address record).
// flush() sends from the oldest staged datagram; runs of consecutive same-destination,
// same-size datagrams (plus a shorter tail) leave as one GSO message (UDP_SEGMENT, up to
// 64 segments / 65507 bytes). On EAGAIN/ENOBUFS the unsent datagrams stay staged in order
// and the next flush() retries them: nothing is lost from staging. Datagrams the kernel
// refuses for good (bad address, EMSGSIZE, ...) are dropped and counted.
// slot() returns one of `slots` views made at construction: no allocation per datagram.
import type { Pointer } from "bun:ffi";
import { ADDRESS_BYTES } from "./address.ts";
import { NativeMemory, type NativeUdpSocket, statusError, udpNative } from "./udp.ts";

const META_BYTES = 24;
const RESULT_SENT = 0;
const RESULT_DROPPED = 1;
const RESULT_SYSCALLS = 2;
const RESULT_ERRNO = 3;
const RESULT_GSO_MESSAGES = 4;
const RESULT_WOULD_BLOCK = 5;
const RESULT_GSO_REFUSED = 6;

export interface NativeSenderOptions {
  slots: number;
  slotBytes: number;
  /** Use UDP_SEGMENT for same-destination runs (default true; turned off if refused). */
  gso?: boolean;
  /** Tests only: after the first sendmmsg of a flush, act as if the kernel said EAGAIN. */
  faultWouldBlock?: boolean;
  /** Tests only: fail GSO sends with EIO, as a NIC without checksum offload does. */
  faultGsoEio?: boolean;
}

export interface NativeSenderCounters {
  flushes: number;
  syscalls: number;
  datagramsSent: number;
  datagramsDropped: number;
  gsoMessages: number;
  wouldBlock: number;
  stagingFull: number;
  lastErrno: number;
  gso: boolean;
}

export class NativeSender {
  readonly slots: number;
  readonly slotBytes: number;
  /** One view over all staging payload slots (slot i starts at i * slotBytes). */
  readonly staging: Uint8Array;
  private readonly memory: NativeMemory;
  private readonly metaAddress: Pointer;
  private readonly metaWords: Uint32Array;
  private readonly metaBytes: Uint8Array;
  private readonly slotViews: Uint8Array[];
  private readonly result = new Uint32Array(7);
  private first = 0;
  private staged = 0;
  private gso: boolean;
  private readonly faultOptions: number;
  private readonly stats: NativeSenderCounters;

  constructor(private readonly socket: NativeUdpSocket, options: NativeSenderOptions) {
    if (!Number.isInteger(options.slots) || options.slots < 1) throw new RangeError("slots must be a positive integer");
    if (!Number.isInteger(options.slotBytes) || options.slotBytes < 1 || options.slotBytes > 65535) throw new RangeError("slotBytes must be in 1..65535");
    this.slots = options.slots;
    this.slotBytes = (options.slotBytes + 7) & ~7; // keeps the metadata area 8-byte aligned
    const payloadBytes = this.slots * this.slotBytes;
    this.memory = new NativeMemory(payloadBytes + this.slots * META_BYTES);
    this.staging = this.memory.bytes.subarray(0, payloadBytes);
    this.metaAddress = (this.memory.address + payloadBytes) as Pointer;
    this.metaBytes = this.memory.bytes.subarray(payloadBytes);
    this.metaWords = new Uint32Array(this.metaBytes.buffer, this.metaBytes.byteOffset, this.slots * (META_BYTES / 4));
    this.slotViews = [];
    for (let i = 0; i < this.slots; i++) this.slotViews.push(this.staging.subarray(i * this.slotBytes, i * this.slotBytes + options.slotBytes));
    this.gso = options.gso ?? true;
    this.faultOptions = (options.faultWouldBlock ? 2 : 0) | (options.faultGsoEio ? 4 : 0);
    this.stats = {
      flushes: 0, syscalls: 0, datagramsSent: 0, datagramsDropped: 0, gsoMessages: 0, wouldBlock: 0, stagingFull: 0, lastErrno: 0, gso: this.gso,
    };
  }

  /** The next free staging slot, or null (counted in stagingFull) when all are staged. */
  slot(): Uint8Array | null {
    if (this.staged === this.slots) {
      this.stats.stagingFull++;
      return null;
    }
    return this.slotViews[this.nextSlotIndex()]!;
  }

  /** Byte offset of the next free slot in `staging`, or -1 when full (no view object). */
  slotOffset(): number {
    if (this.staged === this.slots) {
      this.stats.stagingFull++;
      return -1;
    }
    return this.nextSlotIndex() * this.slotBytes;
  }

  /** Stages the datagram written into the slot from slot()/slotOffset(). */
  commit(length: number, addrBuf: Uint8Array, addrOffset: number): void {
    if (this.staged === this.slots) throw new RangeError("commit without a free slot (check slot() first)");
    if (length < 0 || length > this.slotViews[0]!.length) throw new RangeError(`length ${length} does not fit a ${this.slotViews[0]!.length}-byte slot`);
    const index = this.nextSlotIndex();
    this.metaWords[index * 6] = length;
    const meta = this.metaBytes;
    const at = index * META_BYTES + 4;
    for (let i = 0; i < ADDRESS_BYTES; i++) meta[at + i] = addrBuf[addrOffset + i]!; // no subarray per datagram
    this.staged++;
  }

  /** One FFI call: sends what it can; returns datagrams sent. Leftovers stay staged. */
  flush(): number {
    if (this.staged === 0) return 0;
    if (this.socket.closed) { // nothing can leave any more: drop what is staged, counted
      this.stats.datagramsDropped += this.staged;
      this.first = (this.first + this.staged) % this.slots;
      this.staged = 0;
      return 0;
    }
    const left = udpNative().rudp_udp_send_batch(
      this.socket.fd, this.memory.address, this.slotBytes, this.slots, this.metaAddress, this.first, this.staged, (this.gso ? 1 : 0) | this.faultOptions, this.result,
    );
    if (left < 0) throw statusError(left, "sendmmsg");
    this.first = (this.first + left) % this.slots;
    this.staged -= left;
    const result = this.result;
    const stats = this.stats;
    stats.flushes++;
    stats.syscalls += result[RESULT_SYSCALLS]!;
    stats.datagramsSent += result[RESULT_SENT]!;
    stats.datagramsDropped += result[RESULT_DROPPED]!;
    stats.gsoMessages += result[RESULT_GSO_MESSAGES]!;
    stats.wouldBlock += result[RESULT_WOULD_BLOCK]!;
    if (result[RESULT_ERRNO]! !== 0) stats.lastErrno = result[RESULT_ERRNO]!;
    if (result[RESULT_GSO_REFUSED] === 1) this.gso = stats.gso = false;
    return result[RESULT_SENT]!;
  }

  pending(): number {
    return this.staged;
  }

  counters(): Readonly<NativeSenderCounters> {
    return this.stats;
  }

  /** Frees the staging memory; staged datagrams are discarded (pending() says how many). */
  close(): void {
    this.memory.free();
  }

  private nextSlotIndex(): number {
    const index = this.first + this.staged;
    return index >= this.slots ? index - this.slots : index;
  }
}
