// Native receive thread + SPSC ring + doorbell (zig/src/rx_thread.zig, zig/src/ring.zig).
//
//   const receiver = new NativeReceiver(socket, { ringSlots: 4096, batchSize: 64,
//     verifyChecksum: true, onReadable: () => scheduleDrain() });
//   receiver.start();
//   // in the drain task:
//   receiver.drain(visit, 1024);   // returns datagrams visited
//   receiver.stop();               // joins the thread, frees native memory (socket stays open)
//
// visit(buf, offset, length, addrBuf, addrOffset, checksumOk): `buf` is ONE Uint8Array
// over the whole receive slab and `addrBuf` one view over the ring; both stay the same
// objects for the receiver's life (no per-packet objects). The bytes are valid only
// during the visit: drain() releases the slots (advances the ring head) after the visitor
// returns, and the thread may then overwrite them. Copy what you keep. Do not call
// stop() from inside a visitor. A visitor that throws consumes its datagram (and those
// before it); the exception reaches the caller of drain().
//
// Doorbell: onReadable is a threadsafe JSCallback the thread calls only after drain()
// emptied the ring and set the shared idle flag (once per idle period). A busy server
// that keeps calling drain() takes no callbacks; an idle one burns no CPU (the thread
// sleeps in poll()). If drain() returns `max`, more may be waiting and no doorbell will
// come for them: call drain() again (e.g. from setImmediate).
//
// Ordering: tail is read with Atomics.load (seq_cst; on x86-64 a plain mov, and TSO keeps
// the descriptor loads after it), head is published with Atomics.store after the
// visits. The idle flag is stored with Atomics.store and tail re-read afterwards; the
// thread stores tail (seq_cst) and then reads idle, so one of the two sides always
// sees the other (no lost wake-up).
import { JSCallback, type Pointer, toArrayBuffer } from "bun:ffi";
import { type NativeUdpSocket, statusError, udpNative } from "./udp.ts";

const HEAD_WORD = 0; // byte 0
const TAIL_WORD = 16; // byte 64
const IDLE_WORD = 32; // byte 128
const DESCRIPTOR_WORDS = 8; // 32 bytes
const DESCRIPTORS_WORD_OFFSET = 64; // byte 256
const ADDRESS_BYTE_IN_DESCRIPTOR = 12;
const FLAG_CHECKSUM_OK = 1;

const OPTION_VERIFY_CHECKSUM = 1;
const OPTION_GRO = 2;
const OPTION_NO_PACK = 4;

/** Counter order of `Counter` in zig/src/rx_thread.zig. */
const counterNames = [
  "datagrams", "bytes", "batches", "syscallsReceive", "polls", "wakeups", "dropsRingFull", "dropsNoSlot",
  "dropsTruncated", "dropsDescriptorOverflow", "checksumFailures", "groBuffers", "receiveErrors", "lastErrorStatus",
] as const;
export type NativeReceiverCounters = Record<(typeof counterNames)[number], number> & { drained: number; doorbells: number };

export type DatagramVisitor = (
  buf: Uint8Array, offset: number, length: number, addrBuf: Uint8Array, addrOffset: number, checksumOk: boolean,
) => void;

export interface NativeReceiverOptions {
  /** Descriptor ring capacity, a power of two (default 4096). */
  ringSlots?: number;
  /**
   * Slab size in slots: the slab holds `slots * slotBytes` bytes (default ringSlots when GRO
   * is off; with GRO ringSlots / 16, clamped to 16..256, i.e. up to 16 MiB). Datagrams
   * are packed at 64-byte granularity, so many more small datagrams than `slots` fit.
   */
  slots?: number;
  /** Largest datagram one receive buffer takes (default 2048, or 65536 with GRO on). */
  slotBytes?: number;
  /** Datagrams per recvmmsg (default 64, at most 64). */
  batchSize?: number;
  /**
   * Pack datagrams next to each other in the slab (default true): small datagrams then
   * take ~their size instead of a whole slot, for one memmove each in the thread.
   */
  packSlab?: boolean;
  /** Check the CRC32C trailer of every datagram (default true). */
  verifyChecksum?: boolean;
  /** Pin the thread to this CPU. */
  cpu?: number;
  /** Called on the JS thread when data arrives after drain() found the ring empty. */
  onReadable: () => void;
  /** Keep the process alive while running, as a socket would (default true). */
  ref?: boolean;
}

export class NativeReceiver {
  /** The whole receive slab (offsets in visits index into it). */
  buf!: Uint8Array;
  /** The whole ring (address records of visits index into it). */
  addrBuf!: Uint8Array;
  readonly ringSlots: number;
  readonly slotBytes: number;
  readonly slots: number;
  private readonly batchSize: number;
  private readonly options: number;
  private readonly cpu: number;
  private readonly onReadable: () => void;
  private handle = 0;
  private words!: Uint32Array;
  private counterWords!: BigUint64Array;
  private doorbell: JSCallback | null = null;
  private mask: number;
  private drained = 0;
  private doorbells = 0;
  private running = false;
  private readonly ref: boolean;
  private closeHookRegistered = false;
  private keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly socket: NativeUdpSocket, options: NativeReceiverOptions) {
    this.ringSlots = options.ringSlots ?? 4096;
    if (!Number.isInteger(this.ringSlots) || this.ringSlots < 2 || (this.ringSlots & (this.ringSlots - 1)) !== 0) {
      throw new RangeError(`ringSlots must be a power of two >= 2, got ${this.ringSlots}`);
    }
    this.mask = this.ringSlots - 1;
    this.slotBytes = options.slotBytes ?? (socket.gro ? 65536 : 2048);
    this.slots = options.slots ?? (socket.gro ? Math.min(256, Math.max(16, this.ringSlots >> 4)) : this.ringSlots);
    this.batchSize = Math.min(64, Math.max(1, options.batchSize ?? 64));
    this.options = (options.verifyChecksum === false ? 0 : OPTION_VERIFY_CHECKSUM) | (socket.gro ? OPTION_GRO : 0) |
      (options.packSlab === false ? OPTION_NO_PACK : 0);
    this.cpu = options.cpu ?? -1;
    this.onReadable = options.onReadable;
    this.ref = options.ref ?? true;
  }

  /** Allocates the native memory and starts the thread. */
  start(): void {
    if (this.running) return;
    if (this.socket.closed) throw new Error("NativeReceiver.start: the socket is closed");
    const native = udpNative();
    this.doorbell = new JSCallback(() => { this.doorbells++; if (this.running) this.onReadable(); }, { args: [], returns: "void", threadsafe: true });
    const layout = new BigUint64Array(8);
    const status = native.rudp_rx_create(
      this.socket.fd, this.ringSlots, this.slots, this.slotBytes, this.batchSize, this.options, this.cpu, this.doorbell, layout,
    );
    if (status < 0) {
      this.doorbell.close();
      this.doorbell = null;
      throw statusError(status, "NativeReceiver.start (rudp_rx_create)");
    }
    this.handle = Number(layout[0]);
    const ringBuffer = toArrayBuffer(Number(layout[1]) as Pointer, 0, Number(layout[2]));
    this.words = new Uint32Array(ringBuffer);
    this.addrBuf = new Uint8Array(ringBuffer);
    this.buf = new Uint8Array(toArrayBuffer(Number(layout[3]) as Pointer, 0, Number(layout[4])));
    this.counterWords = new BigUint64Array(toArrayBuffer(Number(layout[5]) as Pointer, 0, counterNames.length * 8));
    // Idle from the start: the first datagram rings the doorbell.
    Atomics.store(this.words, IDLE_WORD, 1);
    const started = native.rudp_rx_start(this.handle);
    if (started < 0) {
      this.release();
      throw statusError(started, "NativeReceiver.start (rudp_rx_start)");
    }
    this.running = true;
    if (!this.closeHookRegistered) {
      this.closeHookRegistered = true;
      this.socket.onClose(() => this.stop());
    }
    // A threadsafe JSCallback does not hold the event loop open; an idle timer does
    // (it fires every ~12 days and costs nothing in between).
    if (this.ref) this.keepAlive = setInterval(() => {}, 1 << 30);
  }

  /**
   * Visits up to `max` datagrams, then releases their slots. When it empties the ring it
   * sets the idle flag, so the next arrival rings the doorbell. Returns datagrams visited.
   */
  drain(visit: DatagramVisitor, max: number): number {
    if (!this.running) return 0;
    const words = this.words;
    const buf = this.buf;
    const addrBuf = this.addrBuf;
    let head = words[HEAD_WORD]!; // only this thread writes head
    let visited = 0;
    // Bounded: every pass but the first visits at least one datagram, or returns.
    for (let pass = 0; pass <= max; pass++) {
      const tail = Atomics.load(words, TAIL_WORD);
      let available = (tail - head) >>> 0;
      if (available > max - visited) available = max - visited;
      let i = 0;
      try {
        for (; i < available; i++) {
          const word = DESCRIPTORS_WORD_OFFSET + ((head + i) & this.mask) * DESCRIPTOR_WORDS;
          const byte = word * 4;
          visit(buf, words[word]!, words[word + 1]!, addrBuf, byte + ADDRESS_BYTE_IN_DESCRIPTOR, (addrBuf[byte + 10]! & FLAG_CHECKSUM_OK) !== 0);
        }
      } catch (error) {
        i++; // the datagram whose visit threw is consumed too: no poison pill on the next drain
        throw error;
      } finally {
        head = (head + i) >>> 0;
        visited += i;
        this.drained += i;
        Atomics.store(words, HEAD_WORD, head); // release: the thread may reuse these slots
      }
      if (visited === max) break; // more may wait: the caller drains again (no doorbell)
      // Empty: say so, then look again, because the thread may have published between
      // our tail load and the flag store without seeing the flag.
      Atomics.store(words, IDLE_WORD, 1);
      if (Atomics.load(words, TAIL_WORD) === head) break; // truly empty: a doorbell will come
      Atomics.store(words, IDLE_WORD, 0); // more arrived: drain it rather than wait for it
    }
    return visited;
  }

  /** Datagrams published and not yet drained. */
  pending(): number {
    if (!this.running) return 0;
    return (Atomics.load(this.words, TAIL_WORD) - this.words[HEAD_WORD]!) >>> 0;
  }

  /** Live counters while running; after stop(), the values at stop. */
  counters(): NativeReceiverCounters {
    if (!this.running && this.finalCounters) return this.finalCounters;
    const result = { drained: this.drained, doorbells: this.doorbells } as NativeReceiverCounters;
    for (let i = 0; i < counterNames.length; i++) result[counterNames[i]!] = this.counterWords ? Number(this.counterWords[i]!) : 0;
    return result;
  }

  /** Joins the thread and frees the ring and slab (the socket stays open). */
  stop(): void {
    if (!this.running) return;
    udpNative().rudp_rx_stop(this.handle);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.finalCounters = this.counters();
    this.running = false;
    this.release();
  }

  private finalCounters: NativeReceiverCounters | null = null;

  private release(): void {
    if (this.handle !== 0) udpNative().rudp_rx_destroy(this.handle);
    this.handle = 0;
    this.counterWords = undefined as unknown as BigUint64Array;
    // A doorbell the thread rang just before stopping may still sit in the event loop's
    // queue: close the callback only after that queue has had a turn.
    const doorbell = this.doorbell;
    this.doorbell = null;
    if (doorbell) setTimeout(() => doorbell.close(), 50);
  }
}
