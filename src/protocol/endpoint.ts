// The engine for one socket: demultiplexes datagrams by connection ID, answers handshakes
// statelessly (RETRY cookie, VERSION_NEGOTIATION, REJECT), enforces the connection limit and
// the 3x amplification bound, schedules transmissions round-robin and keeps the counters.
import {
  sameAddress,
  type CloseReason,
  type CongestionControlName,
  type ConnectionStats,
  type Engine,
  type EngineConfig,
  type EngineCrypto,
  type EngineDependencies,
  type EngineEvent,
  type PeerAddress,
  type SendResult,
  type TransmitInfo,
} from "./api.ts";
import { resolveConfig, type ResolvedConfig } from "./config.ts";
import { createController } from "./congestion/factory.ts";
import { Connection, EnqueueResult, type ConnectionContext } from "./connection/connection.ts";
import { Counters } from "./counters.ts";
import { EventQueue } from "./events.ts";
import { InvariantViolation, invariantFailed } from "./invariant.ts";
import { TimerHeap } from "./timerHeap.ts";
import { MemoryBudget } from "./memoryBudget.ts";
import { nodeHmacSha256, verifyCookie, writeCookie, type CookieKey } from "./handshake/cookie.ts";
import { COOKIE_BYTES } from "./wire/cookie.ts";
import { ClosedClients } from "./handshake/closedClients.ts";
import { readDataDestinationHigh, readDataDestinationLow } from "./wire/dataHeader.ts";
import { LongHeader, MAX_ACK_DELAY_US_MAX, TOKEN_BYTES_MAX, writeReject, writeRetry, writeVersionNegotiation } from "./wire/longHeader.ts";
import { closeReasonCode, closeReasonFromCode } from "./wire/closeReasons.ts";
import { FrameReader, deliveryModeCode } from "./wire/frames.ts";
import { HANDSHAKE_CRYPTO_BYTES, OFFER_ENCRYPTED, X25519_BYTES } from "./crypto/handshakeCrypto.ts";
import { AEAD_TAG_BYTES } from "./crypto/protection.ts";
import {
  CHECKSUM_BYTES,
  DATA_HEADER_BYTES,
  INITIAL_MIN_BYTES,
  MIN_DATAGRAM_BYTES,
  PROTOCOL_VERSION,
  PacketType,
  checksumMatches,
  connectionIdKey,
  readU32be,
  DatagramChecksum,
} from "./wire/packet.ts";

/** Stateless replies (RETRY, VERSION_NEGOTIATION, REJECT) waiting for pollTransmit. */
const STATELESS_QUEUE_MAX = 256;
/** Before an address is validated we send at most this many times what it sent us. */
export const AMPLIFICATION_FACTOR = 3;

export interface ConnectOptions {
  congestionControl?: CongestionControlName;
}

interface StatelessReply {
  bytes: Uint8Array;
  to: PeerAddress;
}

export class Endpoint implements Engine, ConnectionContext {
  readonly config: ResolvedConfig;
  readonly counters = new Counters();
  readonly events: EventQueue;
  readonly frameReader = new FrameReader();
  /** This endpoint's own checksum and cookie MAC, from its dependencies: engines share nothing. */
  readonly checksum: DatagramChecksum;
  private readonly cookieKey: CookieKey;
  /** Encryption (§9): the primitives (null: plaintext endpoint), the server's static key. */
  readonly crypto: EngineCrypto | null;
  readonly staticKey: { secret: Uint8Array; publicKey: Uint8Array } | null;
  readonly trailerBytes: number;
  /** Encrypted DATA is opened in this copy, never in the caller's buffer. */
  private openBuffer = new Uint8Array(2048);
  reassemblyBytesInUse = 0;
  readonly memory: MemoryBudget;
  /** Connections refused a send by the memory budget: they get "drain" when it has room. */
  private readonly budgetBlocked = new Set<Connection>();
  readonly reassemblyBytesTotalMax: number;

  private readonly connections = new Map<number, Connection>();
  /** The same connections as an array: timers scan it without allocating an iterator. */
  private readonly connectionList: Connection[] = [];
  private readonly timers = new TimerHeap<Connection>();
  private readonly byConnectionId = new Map<number, Connection>();
  private readonly byClient = new Map<string, Connection>();
  private readonly clientKeys = new Map<Connection, string>();
  private readonly closedClients: ClosedClients;
  private nextHandle = 1;
  /** Connections that may have something to send, round-robin: a ring that only grows. */
  private ready: (Connection | null)[] = new Array(64).fill(null);
  private readyHead = 0;
  private readyCount = 0;
  private readonly stateless: StatelessReply[] = [];
  private readonly longHeader = new LongHeader();
  private readonly scratch = new Uint8Array(2048);
  private readonly idBytes = new Uint8Array(8);
  private readonly modeCodes = new Uint8Array(256);
  private lastNowUs = 0;

  constructor(
    partial: Partial<EngineConfig>,
    readonly deps: EngineDependencies,
  ) {
    this.config = resolveConfig(partial, deps);
    this.checksum = new DatagramChecksum(deps.crc32c, deps.crc32cPrefix);
    this.cookieKey = { secret: this.config.cookieSecret, hmac: deps.hmacSha256 ?? nodeHmacSha256 };
    if (this.config.encryption) {
      if (deps.crypto === undefined) throw new TypeError("encryption: true needs EngineDependencies.crypto (src/native/aead.ts engineCrypto())");
      this.crypto = deps.crypto;
      this.trailerBytes = AEAD_TAG_BYTES;
      if (this.config.role === "server") {
        let secret = this.config.staticSecretKey;
        if (secret === undefined) {
          secret = new Uint8Array(X25519_BYTES);
          deps.randomBytes(secret);
        }
        if (secret.length !== X25519_BYTES) throw new RangeError(`staticSecretKey must be ${X25519_BYTES} bytes, got ${secret.length}`);
        this.staticKey = { secret, publicKey: deps.crypto.x25519PublicKey(secret) };
      } else {
        this.staticKey = null;
      }
      const pin = this.config.serverPublicKey;
      if (pin !== undefined && pin.length !== X25519_BYTES) throw new RangeError(`serverPublicKey must be ${X25519_BYTES} bytes, got ${pin.length}`);
    } else {
      this.crypto = null;
      this.staticKey = null;
      this.trailerBytes = CHECKSUM_BYTES;
    }
    this.events = new EventQueue(this.config.eventsMax, this.config.eventBytesMax);
    this.memory = new MemoryBudget(this.config.memoryBudgetBytes, this.config.memoryBudgetGraceUs);
    this.closedClients = new ClosedClients(this.config.cookieLifetimeUs, Math.max(1024, this.config.maxConnections),
      () => this.counters.refuse("closed-clients"));
    this.reassemblyBytesTotalMax = this.config.reassemblyBytesTotal;
    for (const [channel, mode] of Object.entries(this.config.channelModes)) {
      const index = Number(channel);
      if (mode !== undefined && Number.isInteger(index) && index >= 0 && index < 256) this.modeCodes[index] = deliveryModeCode(mode);
    }
  }

  onReassemblyEvicted(): void {
    this.counters.refuse("reassembly-eviction");
  }

  // ------------------------------------------------------------------ network input

  handleDatagram(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    nowUs = this.integerTime(nowUs);
    this.lastNowUs = nowUs;
    const counters = this.counters;
    counters.datagramsReceived++;
    counters.bytesReceived += data.length;
    try {
      this.dispatch(nowUs, data, from);
    } catch (error) {
      // A bug, not an input error: loud under tests and the simulator; in production network
      // input must never take the engine down.
      if (this.config.strictInvariants) throw error;
      counters.drop("internal-error");
    }
  }

  // ------------------------------------------------------------------ invariants (invariant.ts)

  /** Engine time is integer microseconds: a fractional `nowUs` (an unfloored clock) once
   *  livelocked a loss timer (test/sim/FINDINGS.md, finding 1). */
  private integerTime(nowUs: number): number {
    if (Number.isInteger(nowUs) || nowUs === Infinity) return nowUs;
    if (this.config.strictInvariants) invariantFailed(`nowUs must be integer microseconds, got ${nowUs}: floor the clock`);
    this.counters.invariantViolations++;
    return Math.floor(nowUs);
  }

  /** After every call into an open connection: its invariants, cheap ones always, the walk
   *  over the packets in flight only under strictInvariants. */
  private checkConnection(connection: Connection, nowUs: number): void {
    // A closing connection only sends CLOSE; one closed for a bug stays broken: no recount.
    if (connection.isClosing()) return;
    try {
      connection.checkInvariants(this.config.strictInvariants);
    } catch (error) {
      this.onConnectionBug(connection, nowUs, error);
    }
  }

  /** A broken invariant inside one connection: rethrown under strictInvariants; otherwise that
   *  connection alone closes with "internal-error" (CLOSE sent if it still can be) and is counted. */
  private onConnectionBug(connection: Connection, nowUs: number, error: unknown): void {
    if (this.config.strictInvariants || !(error instanceof InvariantViolation)) throw error;
    this.counters.invariantViolations++;
    if (connection.isClosing()) connection.terminate("internal-error", 0, error.message);
    else connection.close(nowUs, "internal-error", false, 0, error.message);
  }

  /** Server's static public key (§9.2), or null (client or plaintext). */
  get staticPublicKey(): Uint8Array | null {
    return this.staticKey?.publicKey ?? null;
  }

  private dispatch(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    const counters = this.counters;
    const length = data.length;
    if (length < MIN_DATAGRAM_BYTES) return counters.drop("truncated");
    const type = data[0];
    // Encrypted, DATA and the server's HANDSHAKE end in an AEAD tag, not a CRC32C (§9.2, §9.4).
    const tagged = this.crypto !== null && ((type & 0xfe) === PacketType.data || (type === PacketType.handshake && this.config.role === "client"));
    if (!tagged && this.config.verifyChecksum && !checksumMatches(data, this.checksum)) return counters.drop("checksum");
    if (type === PacketType.data || (tagged && type !== PacketType.handshake)) return this.dispatchData(nowUs, data, from);
    if (type < PacketType.initial || type > PacketType.reject) return counters.drop("malformed");
    if (!this.longHeader.parse(data)) return counters.drop("truncated");
    if (type === PacketType.initial) {
      if (this.config.role !== "server") return counters.drop("unexpected-packet");
      return this.handleInitial(nowUs, data, from);
    }
    if (this.config.role !== "client") return counters.drop("unexpected-packet");
    this.handleServerReply(nowUs, data, from);
  }

  private dispatchData(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    const trailer = this.trailerBytes;
    if (data.length < DATA_HEADER_BYTES + trailer) return this.counters.drop("truncated");
    const high = readDataDestinationHigh(data);
    const low = readDataDestinationLow(data);
    const connection = this.byConnectionId.get(connectionIdKey(high, low));
    if (connection === undefined || !connection.hasLocalId(high, low)) {
      return this.counters.drop("unknown-connection");
    }
    if (!sameAddress(connection.remote, from)) return this.counters.drop("address-mismatch");
    let packet = data;
    if (this.crypto !== null) {
      // Opened in place in our own copy: a duplicated datagram (same buffer) stays intact.
      if (data.length > this.openBuffer.length) this.openBuffer = new Uint8Array(Math.min(65536, data.length * 2));
      if (data.length > this.openBuffer.length) return this.counters.drop("malformed");
      packet = this.openBuffer;
      packet.set(data);
    }
    try {
      connection.onDataPacket(nowUs, packet, data.length - trailer);
    } catch (error) {
      this.onConnectionBug(connection, nowUs, error);
    }
    this.checkConnection(connection, nowUs);
    this.afterActivity(connection);
  }

  private handleInitial(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    const counters = this.counters;
    counters.unvalidatedBytesReceived += data.length;
    if (data.length < INITIAL_MIN_BYTES) return counters.drop("initial-too-small");
    // Exactly 1200 (PROTOCOL.md §3): a larger one would let a client make the server's reply
    // budget depend on a size the path may not carry.
    if (data.length > INITIAL_MIN_BYTES) return counters.drop("malformed");
    const header = this.longHeader;
    if (header.version !== PROTOCOL_VERSION) {
      counters.drop("version");
      counters.handshakeFailed("version");
      const n = writeVersionNegotiation(this.scratch, this.checksum, header.sourceHigh, header.sourceLow);
      return this.queueStateless(n, from, data.length);
    }
    const reader = header.reader;
    const initialMaxData = reader.varint();
    const maxAckDelayUs = reader.varint();
    const tokenLength = reader.varint();
    if (reader.failure !== "") return counters.drop(reader.failure);
    if (tokenLength > TOKEN_BYTES_MAX || maxAckDelayUs > MAX_ACK_DELAY_US_MAX) return counters.drop("malformed");
    const tokenStart = reader.skip(tokenLength);
    if (tokenStart < 0) return counters.drop("truncated");
    if (tokenLength === 0) return this.sendRetry(nowUs, from, data.length);
    // §9.2: cryptoFlags then e_c; a plaintext INITIAL has zero padding there (flags 0).
    const cryptoFlags = reader.u8();
    const offerStart = reader.skip(X25519_BYTES);
    if (cryptoFlags < 0 || offerStart < 0) return counters.drop("truncated");

    const clientKey = `${from.host}|${from.port}|${header.sourceHigh}|${header.sourceLow}`;
    const existing = this.byClient.get(clientKey);
    if (existing !== undefined) {
      existing.onRepeatedInitial(nowUs); // our HANDSHAKE (or, closing, our CLOSE) was lost: send it again
      return this.markReady(existing);
    }
    // A late copy of an INITIAL whose connection already ended: its cookie may still be valid.
    if (this.closedClients.has(nowUs, clientKey)) return counters.drop("closed-connection");
    const verdict = verifyCookie(data, tokenStart, tokenLength, this.cookieKey, header.version, from,
      header.sourceHigh, header.sourceLow, nowUs, this.config.cookieLifetimeUs);
    if (verdict !== "valid") {
      counters.drop(verdict);
      counters.handshakeFailed(verdict);
      if (verdict === "expired-cookie") this.sendRetry(nowUs, from, data.length);
      return;
    }
    const offered = (cryptoFlags & OFFER_ENCRYPTED) !== 0;
    if (offered !== (this.crypto !== null)) {
      // A plaintext request to an encrypted server, or the reverse: said, never guessed.
      const reason = offered ? "encryption-unsupported" : "encryption-required";
      counters.handshakeFailed(reason);
      const n = writeReject(this.scratch, this.checksum, PROTOCOL_VERSION, header.sourceHigh, header.sourceLow, closeReasonCode(reason));
      return this.queueStateless(n, from, data.length);
    }
    if (this.connections.size >= this.config.maxConnections) {
      counters.handshakeFailed("server-full");
      counters.refuse("connections");
      const n = writeReject(this.scratch, this.checksum, PROTOCOL_VERSION, header.sourceHigh, header.sourceLow, closeReasonCode("server-full"));
      return this.queueStateless(n, from, data.length);
    }
    const clientEphemeral = offered ? data.slice(offerStart, offerStart + X25519_BYTES) : null;
    // A low-order e_c would make the shared secret all zero (§9.2): refused before any state.
    if (clientEphemeral !== null && this.crypto!.x25519Shared(this.staticKey!.secret, clientEphemeral) === null) return counters.drop("malformed");
    const connection = this.openConnection(nowUs, from, this.config.congestionControl);
    if (connection === null) return;
    if (clientEphemeral !== null && !connection.acceptEncrypted(cryptoFlags, clientEphemeral, header.sourceHigh, header.sourceLow)) {
      invariantFailed("key agreement failed after the low-order check");
    }
    connection.acceptAsServer(nowUs, header.sourceHigh, header.sourceLow, initialMaxData, maxAckDelayUs);
    this.byClient.set(clientKey, connection);
    this.clientKeys.set(connection, clientKey);
    counters.handshakesCompleted++;
    this.events.pushConnected(connection.handle, from);
    this.markReady(connection);
  }

  private sendRetry(nowUs: number, from: PeerAddress, receivedBytes: number): void {
    const header = this.longHeader;
    const cookie = new Uint8Array(COOKIE_BYTES);
    writeCookie(cookie, 0, this.cookieKey, header.version, from, header.sourceHigh, header.sourceLow, nowUs);
    const n = writeRetry(this.scratch, this.checksum, header.version, header.sourceHigh, header.sourceLow, cookie);
    this.queueStateless(n, from, receivedBytes);
  }

  /** Queues scratch[0..length) unless it would break the amplification bound or the queue limit. */
  private queueStateless(length: number, to: PeerAddress, receivedBytes: number): void {
    if (length > AMPLIFICATION_FACTOR * receivedBytes) return this.counters.refuse("amplification");
    if (this.stateless.length >= STATELESS_QUEUE_MAX) return this.counters.refuse("stateless-queue");
    this.counters.unvalidatedBytesSent += length;
    this.stateless.push({ bytes: this.scratch.slice(0, length), to });
  }

  private handleServerReply(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    const counters = this.counters;
    const header = this.longHeader;
    const connection = this.byConnectionId.get(connectionIdKey(header.destinationHigh, header.destinationLow));
    if (connection === undefined || !connection.hasLocalId(header.destinationHigh, header.destinationLow)) {
      return counters.drop("unknown-connection");
    }
    if (!sameAddress(connection.remote, from)) return counters.drop("address-mismatch");
    if (!connection.isHandshaking() && header.type !== PacketType.handshake) {
      return counters.drop("unexpected-packet");
    }
    const reader = header.reader;
    if (header.type === PacketType.versionNegotiation) {
      counters.handshakeFailed("version");
      connection.terminate("version-mismatch", 0, "server speaks another protocol version");
    } else if (header.version !== PROTOCOL_VERSION) {
      return counters.drop("version");
    } else if (header.type === PacketType.retry) {
      const tokenLength = reader.varint();
      if (tokenLength < 0 || tokenLength > TOKEN_BYTES_MAX) return counters.drop(reader.failure || "malformed");
      const start = reader.skip(tokenLength);
      if (start < 0) return counters.drop("truncated");
      connection.onRetry(nowUs, data.slice(start, start + tokenLength));
    } else if (header.type === PacketType.handshake) {
      if (this.crypto !== null) reader.reset(data, reader.pos, data.length); // no CRC: the tag ends it
      const initialMaxData = reader.varint();
      const maxAckDelayUs = reader.varint();
      if (reader.failure !== "") return counters.drop(reader.failure);
      if (maxAckDelayUs > MAX_ACK_DELAY_US_MAX) return counters.drop("malformed");
      if (this.crypto !== null) {
        const verdict = this.encryptedHandshake(nowUs, connection, data, reader.pos, initialMaxData, maxAckDelayUs);
        if (verdict !== "") return counters.drop(verdict);
      } else {
        connection.onHandshake(nowUs, header.sourceHigh, header.sourceLow, initialMaxData, maxAckDelayUs);
      }
    } else {
      const code = reader.u8();
      if (code < 0) return counters.drop("truncated");
      const reason = closeReasonFromCode(code);
      counters.handshakeFailed(reason);
      connection.terminate(reason, 0, "server refused the connection");
    }
    this.afterActivity(connection);
  }

  /** §9.2 on the client: cipher | e_s | s | tag after the transport parameters. Returns a drop
   *  reason, or "" when the HANDSHAKE was used (or was a harmless duplicate). */
  private encryptedHandshake(nowUs: number, connection: Connection, data: Uint8Array, p: number, initialMaxData: number, maxAckDelayUs: number): string {
    if (!connection.isHandshaking()) return ""; // a resend after we connected
    if (data.length - p !== HANDSHAKE_CRYPTO_BYTES) return data.length - p < HANDSHAKE_CRYPTO_BYTES ? "truncated" : "malformed";
    const cipher = data[p];
    if (cipher > 1) return "malformed";
    const serverEphemeral = data.slice(p + 1, p + 1 + X25519_BYTES);
    const serverStatic = data.slice(p + 1 + X25519_BYTES, p + 1 + 2 * X25519_BYTES);
    const header = this.longHeader;
    const verdict = connection.onEncryptedHandshake(nowUs, data, data.length, header.sourceHigh, header.sourceLow, initialMaxData,
      maxAckDelayUs, cipher, serverEphemeral, serverStatic);
    if (verdict === "auth-failed") {
      this.counters.handshakeAuthFailed++;
      return "handshake-auth-failed";
    }
    if (verdict === "low-order") return "malformed";
    return "";
  }

  // ------------------------------------------------------------------ connections

  private openConnection(nowUs: number, remote: PeerAddress, congestionControl: CongestionControlName): Connection | null {
    const ids = this.idBytes;
    for (let attempt = 0; attempt < 8; attempt++) {
      this.deps.randomBytes(ids);
      const high = readU32be(ids, 0);
      const low = readU32be(ids, 4);
      const key = connectionIdKey(high, low);
      if ((high === 0 && low === 0) || this.byConnectionId.has(key)) continue;
      const connection = new Connection(this.nextHandle++, this, remote, high, low, createController(congestionControl, this.config.mtuBytes), nowUs);
      this.connections.set(connection.handle, connection);
      connection.listIndex = this.connectionList.length;
      this.connectionList.push(connection);
      this.byConnectionId.set(key, connection);
      this.counters.connectionsOpened++;
      this.counters.connectionsActive++;
      return connection;
    }
    this.counters.refuse("connection-id");
    return null;
  }

  private removeConnection(connection: Connection): void {
    if (!this.connections.delete(connection.handle)) return;
    const list = this.connectionList;
    const last = list.pop()!;
    if (last !== connection) {
      list[connection.listIndex] = last;
      last.listIndex = connection.listIndex;
    }
    this.byConnectionId.delete(connection.localIdKey());
    const clientKey = this.clientKeys.get(connection);
    if (clientKey !== undefined) {
      this.byClient.delete(clientKey);
      this.clientKeys.delete(connection);
      this.closedClients.remember(this.lastNowUs, clientKey);
    }
    this.counters.connectionsActive--;
    this.counters.connectionClosed(connection.closeReason);
    connection.releaseBudget();
    this.budgetBlocked.delete(connection);
  }

  private afterActivity(connection: Connection): void {
    if (connection.isFinished()) this.removeConnection(connection);
    else this.markReady(connection);
    this.observeMemory(this.lastNowUs);
  }

  // ------------------------------------------------------------------ memory budget (memoryBudget.ts)

  /** Reassembly and undelivered events: the bytes the budget does not count itself. */
  private otherHeldBytes(): number {
    return this.reassemblyBytesInUse + this.events.heldBytes();
  }

  /** Cheap (a few additions): run after anything that moves memory. */
  private observeMemory(nowUs: number): void {
    const other = this.otherHeldBytes();
    this.counters.memoryHeldBytes = this.memory.total(other);
    this.memory.observe(nowUs, other);
    if (this.budgetBlocked.size > 0 && this.memory.allowsDrain(other)) {
      for (const connection of this.budgetBlocked) if (connection.acceptsSends()) this.events.pushDrain(connection.handle);
      this.budgetBlocked.clear();
    }
  }

  /** Over the budget for the whole grace period: the biggest holders go, then a new grace
   *  period lets their memory be released before anyone else is judged. */
  private enforceMemoryBudget(nowUs: number): void {
    const memory = this.memory;
    if (memory.observe(nowUs, this.otherHeldBytes()) > nowUs) return;
    const seconds = memory.graceUs / 1e6;
    for (const connection of memory.victims(this.connectionList, this.otherHeldBytes())) {
      const message = `the endpoint stayed over its memory budget (${memory.limitBytes} bytes) for ${seconds} s; this connection held ${connection.heldBytes()} bytes, among the most`;
      connection.close(nowUs, "memory-budget", false, 0, message);
      this.afterActivity(connection);
    }
    memory.overSinceUs = nowUs;
  }

  setApplicationHeldBytes(handle: number, bytes: number): void {
    const connection = this.connections.get(handle);
    if (connection === undefined || !(bytes >= 0)) return;
    this.memory.applicationBytesHeld += bytes - connection.applicationHeldBytes;
    connection.applicationHeldBytes = bytes;
    this.observeMemory(this.lastNowUs);
  }

  private markReady(connection: Connection): void {
    this.timers.markDirty(connection);
    if (connection.inReadyList) return;
    connection.inReadyList = true;
    if (this.readyCount === this.ready.length) this.growReady();
    this.ready[(this.readyHead + this.readyCount) & (this.ready.length - 1)] = connection;
    this.readyCount++;
  }

  private takeReady(): Connection | null {
    if (this.readyCount === 0) return null;
    const connection = this.ready[this.readyHead];
    this.ready[this.readyHead] = null;
    this.readyHead = (this.readyHead + 1) & (this.ready.length - 1);
    this.readyCount--;
    return connection;
  }

  private growReady(): void {
    const grown: (Connection | null)[] = new Array(this.ready.length * 2).fill(null);
    for (let k = 0; k < this.readyCount; k++) grown[k] = this.ready[(this.readyHead + k) & (this.ready.length - 1)];
    this.ready = grown;
    this.readyHead = 0;
  }

  // ------------------------------------------------------------------ output

  pollTransmit(nowUs: number, out: Uint8Array, info: TransmitInfo): boolean {
    nowUs = this.integerTime(nowUs);
    this.lastNowUs = nowUs;
    const counters = this.counters;
    const reply = this.stateless.shift();
    if (reply !== undefined) {
      out.set(reply.bytes);
      info.length = reply.bytes.length;
      info.to = reply.to;
      counters.datagramsSent++;
      counters.bytesSent += info.length;
      return true;
    }
    let attempts = this.readyCount;
    while (attempts-- > 0) {
      const connection = this.takeReady();
      if (connection === null) break;
      connection.inReadyList = false;
      const length = connection.isFinished() ? 0 : this.buildChecked(connection, nowUs, out);
      this.timers.markDirty(connection); // building moves its timers (ACK sent, packet in flight)
      if (connection.isFinished()) {
        this.removeConnection(connection);
        if (length === 0) continue;
      } else if (length > 0) {
        this.markReady(connection); // round-robin: back of the line
      }
      if (length === 0) continue;
      info.length = length;
      info.to = connection.remote;
      counters.datagramsSent++;
      counters.bytesSent += length;
      return true;
    }
    return false;
  }

  /** Builds one datagram; a connection whose invariants break while building sends nothing. */
  private buildChecked(connection: Connection, nowUs: number, out: Uint8Array): number {
    let length = 0;
    try {
      length = connection.buildDatagram(nowUs, out);
    } catch (error) {
      this.onConnectionBug(connection, nowUs, error);
      return 0;
    }
    this.checkConnection(connection, nowUs);
    return length;
  }

  pollTimeout(): number {
    this.timers.refresh(this.connectionList);
    // Deadlines may come from fractional arithmetic (RTT averages, pacing rate): round up so
    // that waking at the returned integer time always finds the timer due.
    return Math.ceil(Math.min(this.timers.peek(), this.memory.deadlineUs()));
  }

  handleTimeout(nowUs: number): void {
    nowUs = this.integerTime(nowUs);
    this.lastNowUs = nowUs;
    if (nowUs >= this.memory.deadlineUs()) this.enforceMemoryBudget(nowUs);
    const timers = this.timers;
    timers.refresh(this.connectionList);
    // Bounded: each connection is popped at most once per call (it is re-armed afterwards).
    for (let budget = this.connectionList.length; budget > 0; budget--) {
      const connection = timers.popDue(nowUs);
      if (connection === null) break;
      let wantsSend = false;
      try {
        wantsSend = connection.onTimeout(nowUs);
      } catch (error) {
        this.onConnectionBug(connection, nowUs, error);
      }
      this.checkConnection(connection, nowUs);
      if (connection.isFinished()) this.removeConnection(connection);
      else if (wantsSend) this.markReady(connection);
      else timers.markDirty(connection);
    }
    this.observeMemory(nowUs);
  }

  pollEvent(): EngineEvent | null {
    const events = this.events;
    const event = events.pop();
    if (events.poppedReliableBytes > 0) {
      const connection = this.connections.get(events.poppedConnection);
      if (connection !== undefined && connection.onMessageConsumed(events.poppedReliableBytes)) this.markReady(connection);
    }
    if (event === null && this.budgetBlocked.size > 0) this.observeMemory(this.lastNowUs); // the events' bytes are free now
    return event as EngineEvent | null;
  }

  // ------------------------------------------------------------------ application commands

  connect(nowUs: number, to: PeerAddress, options?: ConnectOptions): number {
    nowUs = this.integerTime(nowUs);
    this.lastNowUs = nowUs;
    if (this.connections.size >= this.config.maxConnections) {
      this.counters.refuse("connections");
      const handle = this.nextHandle++;
      this.events.pushClosed(handle, { reason: "aborted", closeCode: 0, message: "maxConnections reached" });
      return handle;
    }
    const connection = this.openConnection(nowUs, to, options?.congestionControl ?? this.config.congestionControl);
    if (connection === null) {
      const handle = this.nextHandle++;
      this.events.pushClosed(handle, { reason: "aborted", closeCode: 0, message: "no free connection ID" });
      return handle;
    }
    connection.startHandshake(nowUs, this.config.handshakeTimeoutUs);
    this.markReady(connection);
    return connection.handle;
  }

  send(handle: number, channel: number, data: Uint8Array): SendResult {
    if (channel !== (channel & 0xff)) throw new RangeError(`channel must be 0..255, got ${channel}`);
    const connection = this.connections.get(handle);
    if (connection === undefined || !connection.acceptsSends()) return "closed";
    if (data.length > this.config.maxMessageBytes) {
      this.counters.refuse("message-size");
      return "too-large";
    }
    if (this.memory.refuses(this.otherHeldBytes(), data.length)) {
      this.counters.refuse("memory-budget");
      this.budgetBlocked.add(connection);
      this.observeMemory(this.lastNowUs);
      return "buffer-full";
    }
    const result = connection.send(this.lastNowUs, channel, this.modeCodes[channel], data);
    if (result === EnqueueResult.queued) {
      this.markReady(connection);
      this.counters.memoryHeldBytes += data.length;
      return "queued";
    }
    this.counters.refuse(result === EnqueueResult.bufferFull ? "send-buffer" : "send-queue-messages");
    return "buffer-full";
  }

  close(handle: number, reason: CloseReason, graceful: boolean, closeCode = 0): void {
    const connection = this.connections.get(handle);
    if (connection === undefined) return;
    connection.close(this.lastNowUs, reason, graceful, closeCode, "");
    this.afterActivity(connection);
  }

  bufferedBytes(handle: number): number {
    return this.connections.get(handle)?.bufferedBytes() ?? 0;
  }

  connectionStats(handle: number): ConnectionStats | null {
    return this.connections.get(handle)?.statsSnapshot() ?? null;
  }
}
