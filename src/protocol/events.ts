// The engine's event queue. Message events are records in typed arrays whose bytes sit in
// one arena (reset whenever the queue empties), so delivering a small message allocates
// nothing; large (reassembled or held) messages keep their own buffer. pollEvent fills one
// reused object per event type, as api.ts allows.
import type { CloseReason, PeerAddress } from "./api.ts";

export const EventKind = { message: 0, connected: 1, drain: 2, closed: 3 } as const;

/** The reused "message" event: `data` is made on first access; `buffer`/`offset`/`length`
 *  give the same bytes without allocating. */
export class MessageEventView {
  readonly type = "message" as const;
  connection = 0;
  channel = 0;
  buffer: Uint8Array = new Uint8Array(0);
  offset = 0;
  length = 0;

  get data(): Uint8Array {
    return this.buffer.subarray(this.offset, this.offset + this.length);
  }
}

export interface ClosedDetail {
  reason: CloseReason;
  closeCode: number;
  message: string;
}

export class EventQueue {
  private capacity = 256;
  private head = 0;
  count = 0;
  private kind = new Uint8Array(256);
  private connection = new Float64Array(256);
  private channel = new Uint8Array(256);
  private reliable = new Uint8Array(256);
  private offset = new Uint32Array(256);
  private length = new Uint32Array(256);
  private objects: (Uint8Array | PeerAddress | ClosedDetail | null)[] = new Array(256).fill(null);
  private arena = new Uint8Array(64 * 1024);
  private arenaTail = 0;
  private packetData: Uint8Array | null = null;
  private packetStart = 0;
  private packetEnd = 0;
  private packetBase = -1;

  readonly messageView = new MessageEventView();
  /** Bytes of undelivered messages that keep their own buffer (the arena's are arenaTail). */
  private bufferBytes = 0;

  /** Bytes held by undelivered message events (the memory budget counts them). */
  heldBytes(): number {
    return this.arenaTail + this.bufferBytes;
  }
  private readonly connectedView = { type: "connected" as const, connection: 0, remote: null as unknown as PeerAddress };
  private readonly drainView = { type: "drain" as const, connection: 0 };
  private readonly closedView = { type: "closed" as const, connection: 0, reason: "graceful" as CloseReason, closeCode: 0, message: "" };

  /** Set by pop(): the connection and bytes of the reliable message just delivered. */
  poppedReliableBytes = 0;
  poppedConnection = 0;

  constructor(
    private readonly eventsMax: number,
    private readonly arenaBytesMax: number,
  ) {}

  /** Whether a packet of `payloadBytes` can surely be delivered (each frame >= 3 bytes). */
  hasRoomFor(payloadBytes: number): boolean {
    return this.count + Math.ceil(payloadBytes / 3) + 8 <= this.eventsMax && this.arenaTail + payloadBytes <= this.arenaBytesMax;
  }

  /** Marks the payload region of the packet about to be processed: its bytes are copied
   *  into the arena once, at its first delivered message, instead of once per message. */
  beginPacket(data: Uint8Array, start: number, end: number): void {
    this.packetData = data;
    this.packetStart = start;
    this.packetEnd = end;
    this.packetBase = -1;
  }

  pushMessageCopy(connection: number, channel: number, reliable: boolean, data: Uint8Array, start: number, length: number): void {
    let at: number;
    if (data === this.packetData && start >= this.packetStart && start + length <= this.packetEnd) {
      if (this.packetBase < 0) {
        const packetBytes = this.packetEnd - this.packetStart;
        if (this.arenaTail + packetBytes > this.arena.length) this.growArena(packetBytes);
        this.arena.set(data.subarray(this.packetStart, this.packetEnd), this.arenaTail);
        this.packetBase = this.arenaTail - this.packetStart;
        this.arenaTail += packetBytes;
      }
      at = this.packetBase + start;
    } else {
      if (this.arenaTail + length > this.arena.length) this.growArena(length);
      at = this.arenaTail;
      this.arena.set(data.subarray(start, start + length), at);
      this.arenaTail = at + length;
    }
    const i = this.append(EventKind.message, connection);
    this.channel[i] = channel;
    this.reliable[i] = reliable ? 1 : 0;
    this.offset[i] = at;
    this.length[i] = length;
    this.objects[i] = null;
  }

  pushMessageBuffer(connection: number, channel: number, reliable: boolean, buffer: Uint8Array): void {
    const i = this.append(EventKind.message, connection);
    this.channel[i] = channel;
    this.reliable[i] = reliable ? 1 : 0;
    this.offset[i] = 0;
    this.length[i] = buffer.length;
    this.objects[i] = buffer;
    this.bufferBytes += buffer.length;
  }

  pushConnected(connection: number, remote: PeerAddress): void {
    const i = this.append(EventKind.connected, connection);
    this.objects[i] = remote;
  }

  pushDrain(connection: number): void {
    const i = this.append(EventKind.drain, connection);
    this.objects[i] = null;
  }

  pushClosed(connection: number, detail: ClosedDetail): void {
    const i = this.append(EventKind.closed, connection);
    this.objects[i] = detail;
  }

  pop(): MessageEventView | typeof this.connectedView | typeof this.drainView | typeof this.closedView | null {
    this.poppedReliableBytes = 0;
    if (this.count === 0) return null;
    const i = this.head;
    this.head = (i + 1) & (this.capacity - 1);
    this.count--;
    const connection = this.connection[i];
    const object = this.objects[i];
    this.objects[i] = null;
    const kind = this.kind[i];
    if (kind === EventKind.message) {
      const view = this.messageView;
      view.connection = connection;
      view.channel = this.channel[i];
      view.buffer = object === null ? this.arena : (object as Uint8Array);
      if (object !== null) this.bufferBytes -= this.length[i];
      view.offset = this.offset[i];
      view.length = this.length[i];
      if (this.reliable[i] === 1) {
        this.poppedReliableBytes = view.length;
        this.poppedConnection = connection;
      }
      // Arena bytes of this message stay readable until the next call into the engine.
      if (this.count === 0) this.arenaTail = 0;
      return view;
    }
    if (this.count === 0) this.arenaTail = 0;
    if (kind === EventKind.connected) {
      this.connectedView.connection = connection;
      this.connectedView.remote = object as PeerAddress;
      return this.connectedView;
    }
    if (kind === EventKind.drain) {
      this.drainView.connection = connection;
      return this.drainView;
    }
    const detail = object as ClosedDetail;
    this.closedView.connection = connection;
    this.closedView.reason = detail.reason;
    this.closedView.closeCode = detail.closeCode;
    this.closedView.message = detail.message;
    return this.closedView;
  }

  private append(kind: number, connection: number): number {
    if (this.count === this.capacity) this.grow();
    const i = (this.head + this.count) & (this.capacity - 1);
    this.kind[i] = kind;
    this.connection[i] = connection;
    this.count++;
    return i;
  }

  private growArena(length: number): void {
    const grown = new Uint8Array(Math.max(this.arena.length * 2, this.arenaTail + length));
    grown.set(this.arena.subarray(0, this.arenaTail));
    this.arena = grown;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const mask = this.capacity - 1;
    const move = <T extends Uint8Array | Uint32Array | Float64Array>(from: T, into: T): T => {
      for (let k = 0; k < this.count; k++) into[k] = from[(this.head + k) & mask];
      return into;
    };
    this.kind = move(this.kind, new Uint8Array(capacity));
    this.connection = move(this.connection, new Float64Array(capacity));
    this.channel = move(this.channel, new Uint8Array(capacity));
    this.reliable = move(this.reliable, new Uint8Array(capacity));
    this.offset = move(this.offset, new Uint32Array(capacity));
    this.length = move(this.length, new Uint32Array(capacity));
    const objects: (Uint8Array | PeerAddress | ClosedDetail | null)[] = new Array(capacity).fill(null);
    for (let k = 0; k < this.count; k++) objects[k] = this.objects[(this.head + k) & mask];
    this.objects = objects;
    this.head = 0;
    this.capacity = capacity;
  }
}
