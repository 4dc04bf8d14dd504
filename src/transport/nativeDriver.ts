import { ptr } from "bun:ffi";
import {
  addressKey,
  ADDRESS_BYTES,
  decodeAddress,
  encodeAddress,
  native,
  NativeReceiver,
  NativeSender,
  nativeStatus,
  NativeUdpError,
  nodeOfAddress,
  openUdpSocket,
  type NativeUdpSocket,
} from "../native/index.ts";
import { addressInUseError, RudpError } from "../errors.ts";
import type { TransportAddress } from "./addressBook.ts";

/** type byte + CRC32C trailer (PROTOCOL.md §2). */
const MIN_DATAGRAM_BYTES = 5;
import { emptyDriverCounters, type BufferPoolStats, type DatagramDriver, type DatagramSink, type DriverCounters, type DriverOptions } from "./driver.ts";

const SOCKET_BUFFER_BYTES = 8 << 20;
const RING_SLOTS = 4096;
const RECEIVE_BATCH = 64;
/** Datagrams taken from the receive ring per read, and reads per wake-up, before yielding to
 *  the event loop (so timers and sends are not starved by a flood). ("Drain" is kept for the
 *  one meaning of the public event: the send buffer has room again.) */
const RING_READ_CHUNK = 256;
const RING_READ_ROUNDS_MAX = 16;
const ADDRESS_CACHE_MAX = 65_536;
/** No writable notification comes from the native socket: retry a refused flush after this. */
const SEND_RETRY_MS = 1;

export function nativeDriverUnavailableReason(): string | null {
  const status = nativeStatus();
  return status.available ? null : status.reason;
}

/**
 * The fast path: a Zig receive thread blocks in recvmmsg (GRO), verifies CRC32C for the
 * batch and publishes descriptors into an SPSC ring; it rings the doorbell only when this
 * side has emptied the ring and gone idle. Datagrams are read in place from the native
 * slab. Transmits are staged in native memory and sent with one sendmmsg (GSO for
 * same-destination runs) per flush.
 */
export async function openNativeDriver(options: DriverOptions & { receiveThreadCpu?: number; numaNode?: number }): Promise<DatagramDriver> {
  let socket: NativeUdpSocket;
  try {
    socket = openUdpSocket({
      host: options.host,
      port: options.port,
      reusePort: options.reusePort,
      recvBufferBytes: SOCKET_BUFFER_BYTES,
      sendBufferBytes: SOCKET_BUFFER_BYTES,
      gro: true,
    });
  } catch (error) {
    if (error instanceof NativeUdpError && error.code === "EADDRINUSE") {
      throw addressInUseError(options.host, options.port);
    }
    throw new RudpError("ERR_BIND_FAILED", `cannot bind UDP ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  return new NativeDriver(socket, options);
}

class NativeDriver implements DatagramDriver {
  readonly kind = "native";
  private readonly stats: DriverCounters = emptyDriverCounters();
  /** The NUMA node the receive slab's pages sit on, read back with get_mempolicy after
   *  start (the thread touches them first); null where the kernel will not say. */
  numaNode: number | null = null;
  private readonly receiver: NativeReceiver;
  private readonly sender: NativeSender;
  private readonly addresses = new Map<number | string, TransportAddress>();
  private sink: DatagramSink = () => {};
  private onBatchEnd: () => void = () => {};
  private onWritable: () => void = () => {};
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private ringReadScheduled = false;
  private readingRing = false;
  private closed = false;
  private readonly host: string;
  private readonly requestedNumaNode: number;

  constructor(
    private readonly socket: NativeUdpSocket,
    options: DriverOptions & { receiveThreadCpu?: number; numaNode?: number },
  ) {
    this.host = options.host;
    this.requestedNumaNode = options.numaNode ?? -1;
    this.sender = new NativeSender(socket, { slots: options.stagingSlots, slotBytes: options.slotBytes });
    this.receiver = new NativeReceiver(socket, {
      ringSlots: RING_SLOTS,
      batchSize: RECEIVE_BATCH,
      verifyChecksum: true,
      cpu: options.receiveThreadCpu,
      onReadable: this.onDoorbell,
    });
  }

  /** Ours, plus what the receive thread counted: its system calls and its drops by reason. */
  get counters(): DriverCounters {
    const own = this.stats;
    const thread = this.receiver.counters();
    own.systemCallsReceive = thread.syscallsReceive;
    own.drops["ring-full"] = thread.dropsRingFull;
    own.drops["no-slot"] = thread.dropsNoSlot;
    own.drops.truncated = thread.dropsTruncated;
    own.drops["descriptor-overflow"] = thread.dropsDescriptorOverflow;
    return own;
  }

  /**
   * The driver's two native buffer pools, by slot size: the receive ring (descriptors of
   * datagrams the thread holds for JS) and the send staging slots. In use, free, high-water
   * and refused (ring full / no slab space; staging full) are all read, none estimated.
   */
  poolStats(): BufferPoolStats[] {
    const thread = this.receiver.counters();
    const receiving = this.receiver.pending();
    const staged = this.sender.pending();
    this.receiveHighWater = Math.max(this.receiveHighWater, receiving);
    this.stagedHighWater = Math.max(this.stagedHighWater, staged);
    return [
      { sizeBytes: this.receiver.slotBytes, inUse: receiving, free: this.receiver.ringSlots - receiving, highWater: this.receiveHighWater, refused: thread.dropsRingFull + thread.dropsNoSlot },
      { sizeBytes: this.sender.slotBytes, inUse: staged, free: this.sender.slots - staged, highWater: this.stagedHighWater, refused: this.sender.counters().stagingFull },
    ];
  }

  /** --numa-node: bind the receive slab and the send staging to that node (mbind, moving
   *  pages already touched). Refusal is counted, not fatal: the memory stays where it is. */
  private placeOnNode(node: number): void {
    const library = native!;
    for (const region of [this.receiver.buf, this.sender.staging]) {
      const status = library.rudp_numa_bind(ptr(region), region.byteLength, node);
      if (status !== 0) this.stats.drops["numa-placement-refused"] = (this.stats.drops["numa-placement-refused"] ?? 0) + 1;
    }
  }

  private receiveHighWater = 0;
  private stagedHighWater = 0;

  get localHost(): string {
    return this.host;
  }

  get localPort(): number {
    return this.socket.localPort;
  }

  start(sink: DatagramSink, onBatchEnd: () => void, onWritable: () => void): void {
    this.sink = sink;
    this.onBatchEnd = onBatchEnd;
    this.onWritable = onWritable;
    this.receiver.start();
    if (this.requestedNumaNode >= 0) this.placeOnNode(this.requestedNumaNode);
    this.numaNode = nodeOfAddress(ptr(this.receiver.buf));
    this.scheduleRingRead();
  }

  /** The doorbell: runs on the JS thread (threadsafe JSCallback), once per idle period.
   *  Read the ring at once: a setImmediate here would add an event-loop turn to every wake-up. */
  private readonly onDoorbell = (): void => {
    if (this.readingRing) return this.scheduleRingRead();
    this.readRing();
  };

  private readonly scheduleRingRead = (): void => {
    if (this.ringReadScheduled || this.closed) return;
    this.ringReadScheduled = true;
    setImmediate(this.readRing);
  };

  private readonly readRing = (): void => {
    this.ringReadScheduled = false;
    if (this.closed) return;
    this.readingRing = true;
    try {
      this.readRingRounds();
    } finally {
      this.readingRing = false;
    }
  };

  private readRingRounds(): void {
    const waiting = this.receiver.pending();
    if (waiting > this.receiveHighWater) this.receiveHighWater = waiting;
    let delivered = 0;
    for (let round = 0; round < RING_READ_ROUNDS_MAX; round++) {
      const count = this.receiver.drain(this.visit, RING_READ_CHUNK); // native name: takes from the ring
      delivered += count;
      if (count < RING_READ_CHUNK) break;
      if (round === RING_READ_ROUNDS_MAX - 1) this.scheduleRingRead(); // more waiting: come back after I/O
    }
    if (delivered > 0) this.onBatchEnd();
  }

  private readonly visit = (buffer: Uint8Array, offset: number, length: number, addressBuffer: Uint8Array, addressOffset: number, checksumOk: boolean): void => {
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += length;
    if (!checksumOk) {
      // The receive thread cannot verify a datagram with no room for a trailer: that one is
      // short, not corrupt (PROTOCOL.md §2: under 5 bytes is `truncated`).
      const reason = length < MIN_DATAGRAM_BYTES ? "truncated" : "checksum";
      this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1;
      return;
    }
    this.sink(buffer.subarray(offset, offset + length), this.intern(addressBuffer, addressOffset));
  };

  private intern(buffer: Uint8Array, offset: number): TransportAddress {
    const key = addressKey(buffer, offset);
    const known = this.addresses.get(key);
    if (known) return known;
    if (this.addresses.size >= ADDRESS_CACHE_MAX) {
      this.addresses.clear(); // connections keep their objects; comparison falls back to host/port
      this.stats.drops["address-cache-reset"] = (this.stats.drops["address-cache-reset"] ?? 0) + 1;
    }
    const decoded = decodeAddress(buffer, offset);
    const address: TransportAddress = { family: decoded.family, host: decoded.host, port: decoded.port, compact: buffer.slice(offset, offset + ADDRESS_BYTES) };
    this.addresses.set(key, address);
    return address;
  }

  transmitBuffer(): Uint8Array | null {
    return this.sender.slot();
  }

  commitTransmit(length: number, to: TransportAddress): void {
    if (!to.compact) {
      const compact = new Uint8Array(ADDRESS_BYTES);
      encodeAddress(to.host, to.port, compact, 0);
      (to as { compact?: Uint8Array }).compact = compact;
    }
    this.sender.commit(length, to.compact!, 0);
    this.stats.bytesSent += length;
  }

  flush(): void {
    if (this.closed || this.sender.pending() === 0) return;
    if (this.sender.pending() > this.stagedHighWater) this.stagedHighWater = this.sender.pending();
    const before = this.sender.counters();
    const syscallsBefore = before.syscalls;
    const sent = this.sender.flush();
    const after = this.sender.counters();
    this.stats.datagramsSent += sent;
    this.stats.systemCallsSend += after.syscalls - syscallsBefore;
    if (this.sender.pending() > 0 && this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.onWritable();
      }, SEND_RETRY_MS);
    }
  }

  pendingTransmits(): number {
    return this.sender.pending();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.receiver.stop();
    this.sender.close();
    this.socket.close();
  }
}
