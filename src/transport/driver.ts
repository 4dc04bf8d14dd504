import type { TransportAddress } from "./addressBook.ts";

/** Called for each received datagram. `data` is a view valid only during the call. */
export type DatagramSink = (data: Uint8Array, from: TransportAddress) => void;

export function emptyDriverCounters(): DriverCounters {
  return { datagramsReceived: 0, datagramsSent: 0, bytesReceived: 0, bytesSent: 0, systemCallsSend: 0, systemCallsReceive: 0, drops: {} };
}

export interface DriverCounters {
  datagramsReceived: number;
  datagramsSent: number;
  bytesReceived: number;
  bytesSent: number;
  systemCallsSend: number;
  systemCallsReceive: number;
  /** Datagrams dropped by the driver itself, by reason ("checksum", "ring-full", "staging-full", ...). */
  drops: Record<string, number>;
}

/** One buffer pool of a driver, by slot size: slots in use, free, the most ever in use, and
 *  how many times it had none to give. */
export interface BufferPoolStats {
  sizeBytes: number;
  inUse: number;
  free: number;
  highWater: number;
  refused: number;
}

/**
 * Moves datagrams between a UDP socket and the runtime. Two implementations: native (Zig
 * receive thread, ring, sendmmsg/GSO) and fallback (Bun.udpSocket).
 */
export interface DatagramDriver {
  readonly kind: "native" | "fallback";
  readonly localHost: string;
  readonly localPort: number;
  /** Begins delivering datagrams to `sink`; `onBatchEnd` runs after each burst of deliveries,
   *  `onWritable` when a send that was refused for lack of buffer space may be retried. */
  start(sink: DatagramSink, onBatchEnd: () => void, onWritable: () => void): void;
  /** A staging buffer of at least `slotBytes` to write the next datagram into, or null when
   *  staging is full (flush first). */
  transmitBuffer(): Uint8Array | null;
  /** Queues the datagram just written into the last `transmitBuffer()`. */
  commitTransmit(length: number, to: TransportAddress): void;
  /** Sends what is staged; what the kernel refuses stays staged for the next flush. */
  flush(): void;
  pendingTransmits(): number;
  readonly counters: DriverCounters;
  /** Native driver: buffer-pool use per size class and the NUMA node the pools sit on. */
  poolStats?(): BufferPoolStats[];
  readonly numaNode?: number | null;
  close(): Promise<void>;
}

export interface DriverOptions {
  host: string;
  port: number;
  /** Largest datagram the engine writes: the size of each staging slot. */
  slotBytes: number;
  /** Staged datagrams before a flush is forced. */
  stagingSlots: number;
  reusePort: boolean;
}
