import type { udp } from "bun";
import { addressInUseError, RudpError } from "../errors.ts";
import { AddressBook, type TransportAddress } from "./addressBook.ts";
import { emptyDriverCounters, type DatagramDriver, type DatagramSink, type DriverCounters, type DriverOptions } from "./driver.ts";

/**
 * The driver that needs nothing but Bun: `Bun.udpSocket` for receive, `sendMany` for batched
 * send. Used when the native library is unavailable, or when asked for (--driver fallback).
 * No SO_REUSEPORT (Bun.udpSocket has no such option), so no --workers.
 */
export class FallbackDriver implements DatagramDriver {
  readonly kind = "fallback";
  private readonly stats: DriverCounters = emptyDriverCounters();
  private readonly addresses = new AddressBook();

  /** Read by metrics: includes how often the address book hit its limit and started over
   *  (a flood from many source addresses), which it counts on its own. */
  get counters(): DriverCounters {
    if (this.addresses.resets > 0) this.stats.drops["address-cache-reset"] = this.addresses.resets;
    return this.stats;
  }
  private readonly slots: Uint8Array[];
  /** Flat [data, port, host, data, port, host, ...] as sendMany takes it. */
  private readonly sendArguments: (Uint8Array | number | string)[] = [];
  private staged = 0;
  private sink: DatagramSink = () => {};
  private onBatchEnd: () => void = () => {};
  private onWritable: () => void = () => {};
  private batchEndScheduled = false;

  private constructor(
    private readonly socket: udp.Socket<"uint8array">,
    readonly localHost: string,
    options: DriverOptions,
  ) {
    this.slots = Array.from({ length: options.stagingSlots }, () => new Uint8Array(options.slotBytes));
  }

  get localPort(): number {
    return this.socket.port;
  }

  static async open(options: DriverOptions): Promise<FallbackDriver> {
    if (options.reusePort) {
      throw new RudpError("ERR_INVALID_OPTION", "the fallback driver cannot share a port (Bun.udpSocket has no SO_REUSEPORT): use --driver native for --workers > 1");
    }
    let driver: FallbackDriver | null = null;
    let socket: udp.Socket<"uint8array">;
    try {
      socket = await Bun.udpSocket({
        hostname: options.host,
        port: options.port,
        binaryType: "uint8array",
        socket: {
          data: (_socket, data, port, host, flags) => driver?.receive(data, port, host, flags.ipv6),
          drain: () => driver?.onWritable(),
          error: () => {},
        },
      });
    } catch (error) {
      throw bindError(error, options);
    }
    driver = new FallbackDriver(socket, options.host, options);
    return driver;
  }

  start(sink: DatagramSink, onBatchEnd: () => void, onWritable: () => void): void {
    this.sink = sink;
    this.onBatchEnd = onBatchEnd;
    this.onWritable = onWritable;
  }

  private receive(data: Uint8Array, port: number, host: string, ipv6: boolean): void {
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += data.length;
    this.stats.systemCallsReceive++; // Bun reads in batches we cannot see: an upper bound
    this.sink(data, this.addresses.intern(host, port, ipv6 ? 6 : 4));
    if (!this.batchEndScheduled) {
      this.batchEndScheduled = true;
      queueMicrotask(this.endBatch);
    }
  }

  private readonly endBatch = (): void => {
    this.batchEndScheduled = false;
    this.onBatchEnd();
  };

  transmitBuffer(): Uint8Array | null {
    return this.staged < this.slots.length ? this.slots[this.staged]! : null;
  }

  commitTransmit(length: number, to: TransportAddress): void {
    const slot = this.slots[this.staged]!;
    const base = this.staged * 3;
    this.sendArguments[base] = slot.subarray(0, length);
    this.sendArguments[base + 1] = to.port;
    this.sendArguments[base + 2] = to.host;
    this.staged++;
  }

  flush(): void {
    if (this.staged === 0 || this.socket.closed) return;
    this.sendArguments.length = this.staged * 3;
    let sent = 0;
    try {
      sent = this.socket.sendMany(this.sendArguments);
    } catch {
      // The error is usually a pending ICMP "port unreachable" left by an EARLIER datagram to
      // another peer (e.g. a spoofed source that closed), not about this batch: dropping the
      // whole batch let an attacker cost legitimate peers their packets. Send one by one, each
      // retried once (the first throw consumes the pending error); drop only what still fails.
      this.sendEachAfterError();
      return;
    }
    this.stats.systemCallsSend++;
    for (let index = 0; index < sent; index++) {
      this.stats.bytesSent += (this.sendArguments[index * 3] as Uint8Array).length;
    }
    this.stats.datagramsSent += sent;
    this.keepUnsent(sent);
  }

  private sendEachAfterError(): void {
    let sent = 0;
    for (let index = 0; index < this.staged; index++) {
      const data = this.sendArguments[index * 3] as Uint8Array;
      const port = this.sendArguments[index * 3 + 1] as number;
      const host = this.sendArguments[index * 3 + 2] as string;
      if (this.sendOne(data, port, host) || this.sendOne(data, port, host)) {
        sent++;
        this.stats.bytesSent += data.length;
      } else {
        this.stats.drops["send-error"] = (this.stats.drops["send-error"] ?? 0) + 1;
      }
    }
    this.stats.systemCallsSend += this.staged;
    this.stats.datagramsSent += sent;
    this.staged = 0;
  }

  private sendOne(data: Uint8Array, port: number, host: string): boolean {
    try {
      return this.socket.send(data, port, host);
    } catch {
      return false;
    }
  }

  /** Moves datagrams the kernel refused to the front of staging, to go with the next flush. */
  private keepUnsent(sent: number): void {
    const unsent = this.staged - sent;
    for (let index = 0; index < unsent; index++) {
      const from = sent + index;
      const slot = this.slots[from]!;
      const length = (this.sendArguments[from * 3] as Uint8Array).length;
      this.slots[from] = this.slots[index]!;
      this.slots[index] = slot;
      this.sendArguments[index * 3] = slot.subarray(0, length);
      this.sendArguments[index * 3 + 1] = this.sendArguments[from * 3 + 1]!;
      this.sendArguments[index * 3 + 2] = this.sendArguments[from * 3 + 2]!;
    }
    this.staged = unsent;
  }

  pendingTransmits(): number {
    return this.staged;
  }

  async close(): Promise<void> {
    this.flush();
    this.socket.close();
  }
}

function bindError(error: unknown, options: DriverOptions): RudpError {
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code ?? "";
  if (code === "EADDRINUSE" || /in use/i.test(text)) {
    return addressInUseError(options.host, options.port);
  }
  return new RudpError("ERR_BIND_FAILED", `cannot bind UDP ${options.host}:${options.port}: ${text}`);
}
