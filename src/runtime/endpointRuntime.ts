import type { Engine, EngineEvent, PeerAddress, TransmitInfo } from "../protocol/api.ts";
import type { TransportAddress } from "../transport/addressBook.ts";
import type { DatagramDriver } from "../transport/driver.ts";
import type { EndpointSample } from "./endpointSample.ts";
import { RudpConnection } from "./rudpConnection.ts";

/** What the runtime takes from the process around it. */
export interface RuntimeServices {
  /** Monotonic microseconds: src/runtime/clock.ts in production. */
  nowUs(): number;
  /** The CRC32C kernel the engine's checksums run on, for logs and /stats. */
  checksumKernel(): string;
}

export interface RuntimeHooks {
  onConnected(connection: RudpConnection): void;
  onClosed(connection: RudpConnection): void;
  /** A connection that closed before it was ever "connected" (the client's failed handshake). */
  onClosedBeforeConnected?(connection: number, reason: string, message: string): void;
  /** Every RTT sample, for the metrics histogram. */
  onRttSample?(rttUs: number): void;
  /** An application handler threw while an event was dispatched (absent: the error is logged). */
  onApplicationError?(error: unknown, connection: RudpConnection | null, event: string): void;
}

/** Stderr line for a handler error nobody listens for: what happened and what to do. */
export function logApplicationError(error: unknown, event: string): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(`bun-rudp: a "${event}" handler threw; the endpoint keeps serving the other connections ` +
    `(listen for the server's "error" event to handle this yourself): ${detail}`);
}

/** Flushes between engine polls when staging is full, before yielding to the event loop. */
const TRANSMIT_ROUNDS_MAX = 64;

/**
 * Runs one sans-IO engine on one driver: feeds it datagrams and the clock, moves its
 * datagrams to the driver, dispatches its events, and keeps ONE timer armed at the engine's
 * earliest deadline. Work is batched per event-loop turn: a burst of received datagrams is
 * handled, then one transmit pass and one flush.
 */
export class EndpointRuntime {
  readonly connections = new Map<number, RudpConnection>();
  private readonly transmitInfo: TransmitInfo = { length: 0, to: null };
  private flushScheduled = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDeadlineUs = Infinity;
  private stopped = false;

  /** What metrics read of this endpoint (src/metrics never holds the engine or driver). */
  readonly sample: EndpointSample;
  private readonly nowUs: () => number;

  constructor(
    readonly engine: Engine,
    readonly driver: DatagramDriver,
    private readonly hooks: RuntimeHooks,
    services: RuntimeServices,
  ) {
    this.nowUs = services.nowUs;
    this.sample = sampleOf(this, services);
    driver.start(this.onDatagram, this.pump, this.pump);
  }

  private readonly onDatagram = (data: Uint8Array, from: TransportAddress): void => {
    this.engine.handleDatagram(this.nowUs(), data, from);
  };

  /** Asks for one pump at the end of the current turn (coalesces many sends into one flush). */
  scheduleFlush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    queueMicrotask(this.pump);
  }

  /** Events, then transmits, then the timer: the order a turn always follows. */
  readonly pump = (): void => {
    this.flushScheduled = false;
    if (this.stopped) return;
    this.dispatchEvents();
    this.transmit(this.nowUs());
    this.armTimer();
  };

  private dispatchEvents(): void {
    for (let event = this.engine.pollEvent(); event !== null; event = this.engine.pollEvent()) {
      this.dispatch(event);
    }
    if (this.hooks.onRttSample) this.engine.counters.takeRttSamples(this.hooks.onRttSample);
  }

  /** Handler errors caught by dispatch (the application's bug, not the engine's). */
  applicationErrors = 0;

  /** One event to the application. A throwing handler must not stop the pump: the other
   *  events of this turn, the transmits and the timer still have to run. */
  private dispatch(event: EngineEvent): void {
    try {
      this.dispatchUnguarded(event);
    } catch (error) {
      this.applicationErrors++;
      const connection = this.connections.get(event.connection) ?? null;
      const report = this.hooks.onApplicationError;
      if (report === undefined) return logApplicationError(error, event.type);
      try {
        report(error, connection, event.type);
      } catch (reportError) {
        logApplicationError(reportError, "error");
      }
    }
  }

  private dispatchUnguarded(event: EngineEvent): void {
    switch (event.type) {
      case "message":
        this.connections.get(event.connection)?.emit("message", event.channel, event.data);
        return;
      case "connected": {
        const connection = new RudpConnection(this, event.connection, event.remote);
        this.connections.set(event.connection, connection);
        this.hooks.onConnected(connection);
        return;
      }
      case "drain":
        this.connections.get(event.connection)?.emit("drain");
        return;
      case "closed": {
        const connection = this.connections.get(event.connection);
        this.connections.delete(event.connection);
        if (connection) {
          connection.markClosed(event.reason, event.closeCode, event.message);
          this.hooks.onClosed(connection);
        } else {
          this.hooks.onClosedBeforeConnected?.(event.connection, event.reason, event.message);
        }
        return;
      }
    }
  }

  private transmit(now: number): void {
    const { driver, engine, transmitInfo } = this;
    for (let round = 0; round < TRANSMIT_ROUNDS_MAX; round++) {
      let buffer = driver.transmitBuffer();
      while (buffer !== null && engine.pollTransmit(now, buffer, transmitInfo)) {
        driver.commitTransmit(transmitInfo.length, transmitInfo.to as TransportAddress);
        buffer = driver.transmitBuffer();
      }
      driver.flush();
      // Staging had room and the engine stopped: it has nothing more to say for now.
      if (buffer !== null) return;
      // The kernel refused part of the flush: the driver calls onWritable when to retry.
      if (driver.pendingTransmits() > 0) return;
    }
    this.scheduleFlush(); // more to send: continue on the next turn, let I/O in meanwhile
  }

  private armTimer(): void {
    const deadlineUs = this.engine.pollTimeout();
    if (deadlineUs === this.timerDeadlineUs && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadlineUs = deadlineUs;
    if (deadlineUs === Infinity) return;
    const delayMs = Math.max(0, (deadlineUs - this.nowUs()) / 1000);
    this.timer = setTimeout(this.onTimer, delayMs);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerDeadlineUs = Infinity;
    if (this.stopped) return;
    this.engine.handleTimeout(this.nowUs());
    this.pump();
  };

  /** Begins a client handshake to `to`. */
  connect(to: PeerAddress): number {
    const handle = this.engine.connect(this.nowUs(), to);
    this.scheduleFlush();
    return handle;
  }

  async stop(): Promise<void> {
    this.pump();
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.driver.close();
  }
}

function sampleOf(runtime: EndpointRuntime, services: RuntimeServices): EndpointSample {
  const { engine, driver } = runtime;
  return {
    driverKind: driver.kind,
    get numaNode() {
      return driver.numaNode ?? null;
    },
    get checksumKernel() {
      return services.checksumKernel();
    },
    get engineCounters() {
      return engine.counters;
    },
    get driverCounters() {
      return driver.counters;
    },
    poolStats: () => driver.poolStats?.() ?? [],
    visitCongestionWindows(limit, visit) {
      let visited = 0;
      for (const id of runtime.connections.keys()) {
        if (visited++ >= limit) return;
        const stats = engine.connectionStats(id);
        if (stats) visit(stats.congestionWindowBytes, stats.bytesInFlight);
      }
    },
  };
}
