// One connection's control block: its identity, its state machine (handshaking ->
// connected -> drainingSend -> closing -> closed) and the parts that hold the rest of its
// state, one concern per file:
//   handshake.ts      the handshake (client INITIAL backoff, server HANDSHAKE resend)
//   closing.ts        why it ended and the closing period
//   timers.ts         idle, keepalive, pacing; the list of every timer and where it lives
//   packetBuilder.ts  the one fixed-order flush (ACK, MAX_DATA, PING/probe, retransmissions,
//                     new data), packet numbers, and what each packet carried
//   ackState.ts       acknowledgements owed to the peer
//   flowControl.ts    MAX_DATA in both directions
//   sendQueue.ts, reassembly.ts, receiveChannels.ts  messages waiting to go out / come in
// The receive path (a DATA packet's frames) is here. The endpoint talks to a connection
// only through the methods below.
import type { CloseReason, ConnectionStats, EngineCrypto, EngineDependencies, PeerAddress } from "../api.ts";
import type { ResolvedConfig } from "../config.ts";
import type { CongestionController } from "../congestion/controller.ts";
import { Pacer } from "../congestion/pacer.ts";
import type { Counters } from "../counters.ts";
import type { EventQueue } from "../events.ts";
import { writeHandshake, writeHandshakeHead, writeInitial } from "../wire/longHeader.ts";
import {
  OFFER_ENCRYPTED,
  X25519_BYTES,
  cipherName,
  chooseCipher,
  clientKeyAgreement,
  sameBytes,
  sealHandshake,
  serverKeyAgreement,
  transcriptOf,
} from "../crypto/handshakeCrypto.ts";
import type { SessionKeys } from "../crypto/keySchedule.ts";
import { OpenVerdict, PacketProtection } from "../crypto/protection.ts";
import { ReceiveVerdict } from "../recovery/ackRanges.ts";
import { AckVerdict, LossDetection, type RecoveryHost } from "../recovery/lossDetection.ts";
import { invariant, invariantFailed } from "../invariant.ts";
import { SentFlag, SentPacketRing } from "../recovery/sentPackets.ts";
import type { MemoryBudget } from "../memoryBudget.ts";
import { closeReasonFromCode } from "../wire/closeReasons.ts";
import { FrameReader, FrameType, MESSAGE_FRAME_OVERHEAD_MAX } from "../wire/frames.ts";
import { readDataPacketNumberLow32 } from "../wire/dataHeader.ts";
import { DATA_HEADER_BYTES, PROTOCOL_VERSION, connectionIdKey, decodePacketNumber, type DatagramChecksum } from "../wire/packet.ts";
import { AckState } from "./ackState.ts";
import { ClosingState } from "./closing.ts";
import { FlowControl } from "./flowControl.ts";
import { HandshakeState } from "./handshake.ts";
import { PacketBuilder } from "./packetBuilder.ts";
import { MessageVerdict, ReceiveChannels, type MessageSink } from "./receiveChannels.ts";
import { Reassembly, type ReassemblyBudget } from "./reassembly.ts";
import { EnqueueResult, SendQueue } from "./sendQueue.ts";
import { ConnectionTimers, TimerFired } from "./timers.ts";
import { TrafficStats } from "./trafficStats.ts";

export const ConnectionState = { handshaking: 0, connected: 1, drainingSend: 2, closing: 3, closed: 4 } as const;
export { EnqueueResult };

/** What a connection shares with its endpoint. */
export interface ConnectionContext extends ReassemblyBudget {
  readonly config: ResolvedConfig;
  readonly deps: EngineDependencies;
  /** The endpoint's datagram checksum, built from its dependencies. */
  readonly checksum: DatagramChecksum;
  readonly counters: Counters;
  readonly events: EventQueue;
  /** Endpoint-wide memory budget (memoryBudget.ts). */
  readonly memory: MemoryBudget;
  readonly frameReader: FrameReader;
  /** Encryption (§9): the primitives, or null for a plaintext endpoint. */
  readonly crypto: EngineCrypto | null;
  /** Server: its static X25519 key pair (null on clients and plaintext servers). */
  readonly staticKey: { secret: Uint8Array; publicKey: Uint8Array } | null;
  /** Bytes after the frames of a DATA packet: 4 (CRC32C) or 16 (AEAD tag). */
  readonly trailerBytes: number;
}

/** What an encrypted HANDSHAKE did to a handshaking client (§9.2). */
export type HandshakeCryptoVerdict = "ok" | "ignored" | "low-order" | "auth-failed" | "key-mismatch";

const PacketOutcome = { refused: 0, accepted: 1, ackEliciting: 2 } as const;
const SENT_PACKETS_MAX = 1 << 15;
/** Partial unreliable messages older than this are abandoned. */
const UNRELIABLE_REASSEMBLY_AGE_US = 5_000_000;
const DECODER = new TextDecoder();

export class Connection implements RecoveryHost, MessageSink {
  private state: number = ConnectionState.handshaking;
  private readonly handshake = new HandshakeState();
  private readonly closing = new ClosingState();
  /** Set by ACK processing; the graceful-close check runs after the whole packet. */
  private drainedCheckPending = false;
  private peerHigh = 0;
  private peerLow = 0;
  private readonly stats = new TrafficStats();
  // receive side
  private readonly ack: AckState;
  private readonly reassembly: Reassembly;
  private readonly channels: ReceiveChannels;
  private readonly flow: FlowControl;
  // send side
  private readonly sendQueue: SendQueue;
  // Small to start (an idle connection has a PING or two in flight); it doubles on demand.
  private readonly sent = new SentPacketRing(8, SENT_PACKETS_MAX);
  private readonly recovery: LossDetection;
  private readonly pacer: Pacer;
  private readonly builder: PacketBuilder;
  private readonly timers: ConnectionTimers;
  // encryption (§9)
  private protection: PacketProtection | null = null;
  /** Client: its ephemeral key pair, from connect until the HANDSHAKE's keys are derived. */
  private ephemeralSecret: Uint8Array | null = null;
  private ephemeralPublic: Uint8Array | null = null;
  /** Server: the HANDSHAKE as first sealed; every resend repeats these bytes (§9.2). */
  private handshakeBytes: Uint8Array | null = null;
  private security: "authenticated" | "unauthenticated" | "encrypted" | "plaintext" = "plaintext";

  // Scheduling slots the endpoint keeps on each connection (not connection state).
  /** In the endpoint's ready ring. */
  inReadyList = false;
  /** Position in the endpoint's connection array. */
  listIndex = -1;
  /** Bookkeeping of the endpoint's timer heap. */
  timerVersion = 0;
  timerDirty = false;

  constructor(
    readonly handle: number,
    private readonly context: ConnectionContext,
    readonly remote: PeerAddress,
    private readonly localHigh: number,
    private readonly localLow: number,
    private readonly cc: CongestionController,
    nowUs: number,
  ) {
    const config = context.config;
    this.ack = new AckState(config.maxAckDelayUs);
    this.flow = new FlowControl(config.receiveWindowBytes);
    const fragmentPayloadMax = config.mtuBytes - DATA_HEADER_BYTES - context.trailerBytes - MESSAGE_FRAME_OVERHEAD_MAX;
    this.sendQueue = new SendQueue(config.sendBufferBytesPerConnection, config.sendBufferBytesPerChannel,
      config.messagesQueuedMaxPerConnection, fragmentPayloadMax);
    this.sendQueue.account = context.memory;
    this.reassembly = new Reassembly(context, config.reassemblyBytesPerConnection, config.maxMessageBytes);
    this.channels = new ReceiveChannels(this, this.reassembly);
    this.recovery = new LossDetection(this.sent);
    this.pacer = new Pacer(config.mtuBytes);
    this.timers = new ConnectionTimers(nowUs, config.idleTimeoutUs, config.keepaliveIntervalUs, this.recovery, this.ack, this.handshake);
    this.timers.progressTimeoutUs = config.progressTimeoutUs;
    const seed = new Uint8Array(4);
    context.deps.randomBytes(seed);
    this.builder = new PacketBuilder({
      config,
      checksum: context.checksum,
      counters: context.counters,
      events: context.events,
      handle,
      stats: this.stats,
      ack: this.ack,
      flow: this.flow,
      timers: this.timers,
      sendQueue: this.sendQueue,
      sent: this.sent,
      recovery: this.recovery,
      cc,
      pacer: this.pacer,
    }, seed, context.trailerBytes);
  }

  // ---------------------------------------------------------------- identity and state

  hasLocalId(high: number, low: number): boolean {
    return this.localHigh === high && this.localLow === low;
  }

  /** The endpoint's map key for this connection's ID (wire/packet.ts connectionIdKey). */
  localIdKey(): number {
    return connectionIdKey(this.localHigh, this.localLow);
  }

  isHandshaking(): boolean {
    return this.state === ConnectionState.handshaking;
  }

  /** The application may still queue messages (not closing, not draining to close). */
  acceptsSends(): boolean {
    return this.state < ConnectionState.drainingSend;
  }

  /** Finished: closed and nothing left to send; the endpoint forgets it. */
  /** Closing or closed: a CLOSE is on its way or the connection is done. */
  isClosing(): boolean {
    return this.state >= ConnectionState.closing;
  }

  isFinished(): boolean {
    return this.state === ConnectionState.closed;
  }

  get closeReason(): CloseReason {
    return this.closing.reason;
  }

  bufferedBytes(): number {
    return this.sendQueue.liveBytes;
  }

  /** Bytes the application said it holds for this peer (Engine.setApplicationHeldBytes). */
  applicationHeldBytes = 0;

  /** What this connection holds on the memory budget (undelivered events are not per connection). */
  heldBytes(): number {
    return this.sendQueue.liveBytes + this.reassembly.bytesInUse + this.applicationHeldBytes;
  }

  /** Forgotten by the endpoint: what it still held leaves the budget. */
  releaseBudget(): void {
    const memory = this.context.memory;
    memory.sendBytesHeld -= this.sendQueue.liveBytes;
    memory.applicationBytesHeld -= this.applicationHeldBytes;
    this.sendQueue.account = null;
    this.applicationHeldBytes = 0;
  }

  statsSnapshot(): ConnectionStats {
    const rtt = this.recovery.rtt;
    const s = this.stats;
    return {
      remote: this.remote,
      rttSmoothedUs: rtt.smoothedUs,
      rttVarianceUs: rtt.varianceUs,
      rttMinUs: rtt.minUs === Infinity ? 0 : rtt.minUs,
      latestRttUs: rtt.latestUs,
      congestionWindowBytes: this.cc.windowBytes,
      congestionControl: this.cc.name,
      bytesInFlight: this.recovery.bytesInFlight,
      packetsSent: s.packetsSent,
      packetsReceived: s.packetsReceived,
      packetsLost: s.packetsLost,
      ackElicitingPacketsSent: s.ackElicitingPacketsSent,
      packetsRetransmitted: s.packetsRetransmitted,
      framesRetransmitted: s.framesRetransmitted,
      spuriousRetransmissions: this.recovery.spuriousLosses,
      messagesSent: s.messagesSent,
      messagesReceived: s.messagesReceived,
      bytesSent: s.bytesSent,
      bytesReceived: s.bytesReceived,
      security: this.security,
      cipher: this.protection === null ? "none" : cipherName(this.protection.cipher),
      keyUpdatesSent: this.protection?.keyUpdatesSent ?? 0,
      keyUpdatesReceived: this.protection?.keyUpdatesReceived ?? 0,
    };
  }

  // ---------------------------------------------------------------- application commands

  send(nowUs: number, channel: number, modeCode: number, data: Uint8Array): number {
    const result = this.sendQueue.enqueue(channel, modeCode, data);
    if (result !== EnqueueResult.queued) this.builder.wantDrain();
    else this.timers.onDataWaiting(nowUs, true);
    return result;
  }

  close(nowUs: number, reason: CloseReason, graceful: boolean, closeCode: number, message: string): void {
    if (this.state >= ConnectionState.closing) return;
    this.closing.record(reason, closeCode, message);
    if (graceful && this.state !== ConnectionState.handshaking) {
      this.state = ConnectionState.drainingSend;
      this.checkDrained(nowUs);
      return;
    }
    this.beginClosing(nowUs, this.state !== ConnectionState.handshaking);
  }

  /** Sends CLOSE (unless `notifyPeer` is false), emits "closed", and waits 3 PTO for stragglers. */
  private beginClosing(nowUs: number, notifyPeer: boolean): void {
    this.state = ConnectionState.closing;
    this.closing.begin(nowUs, notifyPeer, this.recovery.probeTimeoutUs());
    this.emitClosed();
  }

  /** Ends the connection at once without telling the peer (peer closed, idle, handshake failure). */
  terminate(reason: CloseReason, closeCode: number, message: string): void {
    if (this.state === ConnectionState.closed) return;
    if (!this.closing.hasEmittedClosed()) this.closing.record(reason, closeCode, message, Infinity);
    this.state = ConnectionState.closed;
    this.closing.stopSending();
    this.emitClosed();
  }

  private emitClosed(): void {
    if (!this.closing.takeClosedEvent()) return;
    this.reassembly.clear();
    this.context.events.pushClosed(this.handle, this.closing.detail());
  }

  private checkDrained(nowUs: number): void {
    if (this.state === ConnectionState.drainingSend && this.sendQueue.isEmpty() && !this.builder.hasRetransmissions()) {
      this.beginClosing(nowUs, true);
    }
  }

  // ---------------------------------------------------------------- handshake

  /** Client: the first INITIAL goes out now; the handshake fails after `timeoutUs`. */
  startHandshake(nowUs: number, timeoutUs: number): void {
    this.handshake.startClient(nowUs, timeoutUs);
    const crypto = this.context.crypto;
    if (crypto !== null) {
      // e_c: one per connection attempt; every INITIAL resend carries the same one (§9.2).
      this.ephemeralSecret = new Uint8Array(X25519_BYTES);
      this.context.deps.randomBytes(this.ephemeralSecret);
      this.ephemeralPublic = crypto.x25519PublicKey(this.ephemeralSecret);
    }
  }

  onRetry(nowUs: number, token: Uint8Array): void {
    if (this.state !== ConnectionState.handshaking || !this.handshake.onRetry(nowUs, token)) {
      this.context.counters.drop("unexpected-retry");
    }
  }

  onHandshake(nowUs: number, serverHigh: number, serverLow: number, initialMaxData: number, maxAckDelayUs: number): void {
    if (this.state !== ConnectionState.handshaking) return; // a duplicate reply
    this.setPeer(serverHigh, serverLow, initialMaxData, maxAckDelayUs);
    this.state = ConnectionState.connected;
    this.timers.onPeerHeard(nowUs);
    this.context.counters.handshakesCompleted++;
    this.context.events.pushConnected(this.handle, this.remote);
    // An ACK-eliciting first packet confirms the handshake to the server promptly.
    this.builder.requestPing();
  }

  /** Client, encryption: a HANDSHAKE with the server's keys (§9.2), data[0..length) with its tag.
   *  Only a HANDSHAKE whose tag verifies changes anything: a forger cannot end the attempt. */
  onEncryptedHandshake(nowUs: number, data: Uint8Array, length: number, serverHigh: number, serverLow: number, initialMaxData: number,
      maxAckDelayUs: number, cipher: number, serverEphemeral: Uint8Array, serverStatic: Uint8Array): HandshakeCryptoVerdict {
    const crypto = this.context.crypto;
    if (this.state !== ConnectionState.handshaking || crypto === null || this.ephemeralSecret === null) return "ignored";
    const transcript = transcriptOf(this.localHigh, this.localLow, serverHigh, serverLow, cipher, this.ephemeralPublic!, serverEphemeral, serverStatic);
    const { verdict, keys } = clientKeyAgreement(crypto, transcript, this.ephemeralSecret, data, length);
    if (verdict !== "ok") return verdict;
    const pin = this.context.config.serverPublicKey;
    if (pin !== undefined && !sameBytes(pin, serverStatic)) {
      // Authentic for *some* key, not the pinned one: another server, or a man in the middle.
      this.context.counters.handshakeFailed("server-key-mismatch");
      this.terminate("server-key-mismatch", 0, "the server's static public key is not the pinned serverPublicKey");
      return "key-mismatch";
    }
    this.ephemeralSecret.fill(0);
    this.ephemeralSecret = null;
    this.security = pin !== undefined ? "authenticated" : "unauthenticated";
    this.installKeys(crypto, cipher, keys!, "client");
    this.onHandshake(nowUs, serverHigh, serverLow, initialMaxData, maxAckDelayUs);
    return "ok";
  }

  /** Server side: the connection starts connected once the cookie came back. */
  acceptAsServer(nowUs: number, clientHigh: number, clientLow: number, initialMaxData: number, maxAckDelayUs: number): void {
    this.setPeer(clientHigh, clientLow, initialMaxData, maxAckDelayUs);
    this.state = ConnectionState.connected;
    this.handshake.acceptAsServer(nowUs);
  }

  /** Server, encryption: derives the keys from the client's offer and seals the HANDSHAKE once
   *  (§9.2). False when the client's key is low-order (the caller drops the INITIAL). Call
   *  before acceptAsServer's first HANDSHAKE goes out. */
  acceptEncrypted(clientFlags: number, clientEphemeral: Uint8Array, clientHigh: number, clientLow: number): boolean {
    const crypto = this.context.crypto;
    const staticKey = this.context.staticKey;
    if (crypto === null || staticKey === null || (clientFlags & OFFER_ENCRYPTED) === 0) return false;
    const cipher = chooseCipher(clientFlags, crypto.fastCiphers);
    const ephemeralSecret = new Uint8Array(X25519_BYTES);
    this.context.deps.randomBytes(ephemeralSecret);
    const agreed = serverKeyAgreement(crypto, (ephemeralPublic) => transcriptOf(clientHigh, clientLow, this.localHigh, this.localLow, cipher,
      clientEphemeral, ephemeralPublic, staticKey.publicKey), ephemeralSecret, staticKey.secret);
    if (agreed === null) return false;
    const out = new Uint8Array(this.context.config.mtuBytes);
    const p = writeHandshakeHead(out, PROTOCOL_VERSION, clientHigh, clientLow, this.localHigh, this.localLow,
      this.flow.advertisedMaxData, this.context.config.maxAckDelayUs);
    const length = sealHandshake(crypto, out, p, cipher, agreed.ephemeralPublic, staticKey.publicKey, agreed.keys);
    this.handshakeBytes = out.slice(0, length);
    this.security = "encrypted";
    this.installKeys(crypto, cipher, agreed.keys, "server");
    return true;
  }

  private installKeys(crypto: EngineCrypto, cipher: number, keys: SessionKeys, role: "client" | "server"): void {
    const send = role === "client" ? keys.clientToServer : keys.serverToClient;
    const receive = role === "client" ? keys.serverToClient : keys.clientToServer;
    keys.handshakeServer.key.fill(0);
    const counters = this.context.counters;
    this.protection = new PacketProtection(crypto, cipher, send, receive, this.context.config.keyUpdatePackets,
      () => this.recovery.largestAckedPn, () => counters.keyUpdates++);
    this.builder.setSealer(this.protection);
  }

  /** The peer's transport parameters (PROTOCOL.md §3): its window and how long it may sit on an ACK. */
  private setPeer(high: number, low: number, initialMaxData: number, maxAckDelayUs: number): void {
    this.peerHigh = high;
    this.peerLow = low;
    this.builder.setPeerId(high, low);
    this.flow.onPeerMaxData(initialMaxData);
    this.recovery.peerMaxAckDelayUs = maxAckDelayUs;
  }

  /** The client sent its INITIAL again: it is alive, and our HANDSHAKE was lost. */
  onRepeatedInitial(nowUs: number): void {
    this.timers.onPeerHeard(nowUs);
    this.handshake.onRepeatedInitial();
    // Closing: the client still lacks our HANDSHAKE, so it could not read a CLOSE alone. It
    // gets the HANDSHAKE again (above, if still unconfirmed) and the CLOSE right behind it.
    if (this.state === ConnectionState.closing) this.closing.onPeerStillSending();
  }

  // ---------------------------------------------------------------- receive

  /** A DATA packet addressed to this connection; data[0..end) excludes the trailer (CRC32C or
   *  tag). Encrypted, `data` is the endpoint's own copy: it is opened in place first, and a
   *  forged, corrupted or replayed packet goes no further (§9.4). */
  onDataPacket(nowUs: number, data: Uint8Array, end: number): void {
    const counters = this.context.counters;
    if (this.state === ConnectionState.handshaking) {
      counters.drop("not-connected");
      return;
    }
    const received = this.ack.received;
    const previousLargest = received.largest();
    const pn = decodePacketNumber(previousLargest, readDataPacketNumberLow32(data));
    const protection = this.protection;
    if (protection !== null) {
      const opened = protection.open(data, end + this.context.trailerBytes, pn);
      if (opened !== OpenVerdict.authentic) {
        if (opened === OpenVerdict.replayed) {
          counters.packetsReplayed++;
          counters.drop("replayed");
        } else {
          counters.packetsDecryptFailed++;
          counters.drop("decrypt-failed");
        }
        return;
      }
    } else if (this.context.crypto !== null) {
      counters.drop("not-connected"); // keys not installed: nothing can be read yet
      return;
    }
    const verdict = received.classify(pn);
    if (verdict !== ReceiveVerdict.fresh) {
      counters.drop(verdict === ReceiveVerdict.duplicate ? "duplicate" : "out-of-window");
      return;
    }
    const payloadStart = DATA_HEADER_BYTES;
    if (this.state === ConnectionState.closing) {
      this.onPacketWhileClosing(data, payloadStart, end);
      return;
    }
    if (!this.context.events.hasRoomFor(end - payloadStart)) {
      counters.drop("receive-buffer-full");
      counters.refuse("event-queue");
      return;
    }
    this.handshake.confirm();
    this.context.events.beginPacket(data, payloadStart, end);
    const outcome = this.processFrames(nowUs, data, payloadStart, end);
    if (this.drainedCheckPending) {
      // After every frame of the packet, so no message is delivered after "closed".
      this.drainedCheckPending = false;
      this.checkDrained(nowUs);
    }
    if (outcome === PacketOutcome.refused) return;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += end + this.context.trailerBytes;
    this.timers.onPeerHeard(nowUs);
    this.ack.onPacketAccepted(nowUs, pn, previousLargest, outcome === PacketOutcome.ackEliciting);
  }

  /** The peer's CLOSE (or its echo of ours) ends the closing period; anything else gets
   *  our CLOSE again, a bounded number of times. */
  private onPacketWhileClosing(data: Uint8Array, start: number, end: number): void {
    const frame = this.context.frameReader;
    frame.reset(data, start, end);
    for (let type = frame.next(); type >= 0; type = frame.next()) {
      if (type === FrameType.close) {
        this.state = ConnectionState.closed;
        this.closing.stopSending();
        return;
      }
    }
    this.closing.onPeerStillSending();
  }

  /** Whether the packet is refused (not to be acknowledged: limit, malformed, closed) or accepted. */
  private processFrames(nowUs: number, data: Uint8Array, start: number, end: number): number {
    const frame = this.context.frameReader;
    const counters = this.context.counters;
    frame.reset(data, start, end);
    let ackEliciting = false;
    for (;;) {
      const type = frame.next();
      if (type === -1) break;
      if (type === -2) {
        counters.drop(frame.reader.failure === "" ? "malformed" : frame.reader.failure);
        return PacketOutcome.refused;
      }
      if (type === FrameType.padding) continue;
      if (type === FrameType.ack) {
        if (this.recovery.onAck(nowUs, frame, this) === AckVerdict.violation) {
          this.protocolViolation(nowUs, "acknowledgement of a packet never sent");
          return PacketOutcome.refused;
        }
        this.afterAck(nowUs);
        continue;
      }
      ackEliciting = true;
      if (type === FrameType.message) {
        const verdict = this.channels.onMessage(nowUs, frame, data);
        if (verdict === MessageVerdict.accepted) continue;
        if (verdict === MessageVerdict.refused) {
          counters.drop("reassembly-limit");
          return PacketOutcome.refused;
        }
        if (verdict === MessageVerdict.malformed) {
          counters.drop("malformed");
          return PacketOutcome.refused;
        }
        if (verdict === MessageVerdict.beyondWindow) {
          this.protocolViolation(nowUs, `reliable data beyond the ${this.flow.advertisedMaxData}-byte limit announced (flow control)`);
          return PacketOutcome.refused;
        }
        this.protocolViolation(nowUs, "message outside the receive window");
        return PacketOutcome.refused;
      }
      if (type === FrameType.maxData) {
        this.flow.onPeerMaxData(frame.maxDataBytes);
        continue;
      }
      if (type === FrameType.close) {
        const message = DECODER.decode(data.subarray(frame.closeMessageStart, frame.closeMessageStart + frame.closeMessageLength));
        this.terminate(closeReasonFromCode(frame.closeReasonCode), frame.closeCode, message);
        // Echo one CLOSE so the peer can stop resending its own, then forget the connection.
        this.state = ConnectionState.closing;
        this.closing.echoPeerClose(nowUs);
        return PacketOutcome.refused;
      }
      // PING: only elicits an ACK.
    }
    return ackEliciting ? PacketOutcome.ackEliciting : PacketOutcome.accepted;
  }

  private protocolViolation(nowUs: number, message: string): void {
    this.context.counters.drop("protocol-violation");
    this.close(nowUs, "protocol-violation", false, 0, message);
  }

  private afterAck(nowUs: number): void {
    this.builder.releaseResolvedFrames();
    this.timers.onDataWaiting(nowUs, !this.sendQueue.isEmpty());
    const rtt = this.recovery.rtt;
    if (rtt.hasSample) this.context.counters.addRttSample(rtt.latestUs);
    this.builder.notifyDrainIfRoom();
    if (this.state === ConnectionState.drainingSend) this.drainedCheckPending = true;
  }

  // MessageSink ----------------------------------------------------------------

  deliverCopy(channel: number, reliable: boolean, data: Uint8Array, start: number, length: number): void {
    this.stats.messagesReceived++;
    this.context.counters.messagesReceived++;
    this.context.events.pushMessageCopy(this.handle, channel, reliable, data, start, length);
  }

  deliverBuffer(channel: number, reliable: boolean, buffer: Uint8Array): void {
    this.stats.messagesReceived++;
    this.context.counters.messagesReceived++;
    this.context.events.pushMessageBuffer(this.handle, channel, reliable, buffer);
  }

  reliableBytesReceived(bytes: number): boolean {
    return this.flow.onReliableReceived(bytes);
  }

  staleMessageDropped(): void {
    this.context.counters.drop("stale-sequenced");
  }

  reassemblyRefused(): void {
    this.context.counters.refuse("reassembly");
  }

  /** The application took a reliable message: open the peer's window. True when a MAX_DATA is now owed. */
  onMessageConsumed(bytes: number): boolean {
    return this.flow.onConsumed(bytes);
  }

  // RecoveryHost ----------------------------------------------------------------

  onPacketAcked(index: number, nowUs: number): void {
    const sent = this.sent;
    this.cc.onPacketAcked(nowUs, sent.sizeBytes[index], sent.timeSentUs[index], this.recovery.rtt);
    this.builder.ackFrames(index);
    // Any packet with message data newly acknowledged (a retransmission, an unreliable message,
    // a fragment) is progress; an ACK of only PINGs, probes or MAX_DATA is not.
    if ((sent.flags[index] & SentFlag.carriedData) !== 0) this.timers.onProgress(nowUs);
  }

  onLostPacketAcked(index: number, nowUs: number): void {
    if ((this.sent.flags[index] & SentFlag.carriedData) !== 0) this.timers.onProgress(nowUs);
    this.context.counters.spuriousRetransmissions++;
    this.cc.undoReduction();
    this.builder.ackFrames(index);
  }

  onPacketLost(index: number, nowUs: number): void {
    const sent = this.sent;
    this.stats.packetsLost++;
    this.context.counters.packetsLost++;
    if ((sent.flags[index] & SentFlag.inFlight) !== 0) {
      this.cc.onPacketLost(nowUs, sent.sizeBytes[index], sent.timeSentUs[index], this.recovery.rtt);
    }
    if ((sent.flags[index] & SentFlag.carriedMaxData) !== 0) this.flow.onMaxDataLost();
    this.builder.requeueFrames(index);
  }

  onPersistentCongestion(nowUs: number): void {
    this.context.counters.refuse("persistent-congestion");
    this.cc.onPersistentCongestion(nowUs);
  }

  // ---------------------------------------------------------------- invariants (invariant.ts)

  /** Throws InvariantViolation when this connection's state is inconsistent. The cheap checks
   *  run after every call from the endpoint; `thorough` adds the walk over the packets in
   *  flight (tests and the simulator only: it is O(packets in flight)). */
  checkInvariants(thorough: boolean): void {
    const inFlight = this.recovery.bytesInFlight;
    if (!(inFlight >= 0)) invariantFailed(`bytes in flight ${inFlight} < 0`);
    const sent = this.sent;
    invariant(sent.count <= sent.capacityMax, "more sent-packet records than the ring's limit");
    const queue = this.sendQueue;
    if (!(queue.liveBytes >= 0 && queue.liveBytes <= queue.bufferBytesMax)) {
      invariantFailed(`send buffer ${queue.liveBytes} outside [0, ${queue.bufferBytesMax}]`);
    }
    const window = this.cc.windowBytes;
    if (!(window >= this.context.config.mtuBytes && window < Infinity)) invariantFailed(`congestion window ${window} outside [mtu, Infinity)`);
    this.flow.checkInvariants();
    if (thorough) this.checkSentPackets();
  }

  /** Bytes in flight equal the sum over the packets still in flight; send times follow
   *  packet-number order. */
  private checkSentPackets(): void {
    const sent = this.sent;
    let inFlight = 0;
    let previousSentUs = -Infinity;
    for (let pn = sent.firstPn; pn < sent.nextPn(); pn++) {
      const i = sent.indexOf(pn);
      const flags = sent.flags[i];
      if ((flags & SentFlag.inFlight) !== 0 && (flags & (SentFlag.acked | SentFlag.lost)) === 0) inFlight += sent.sizeBytes[i];
      if ((flags & SentFlag.skipped) !== 0) continue;
      const sentUs = sent.timeSentUs[i];
      if (!(sentUs >= previousSentUs)) invariantFailed(`packet ${pn} sent at ${sentUs}, before packet ${pn - 1} at ${previousSentUs}`);
      previousSentUs = sentUs;
    }
    if (!(inFlight === this.recovery.bytesInFlight)) invariantFailed(`bytes in flight ${this.recovery.bytesInFlight}, packets in flight hold ${inFlight}`);
  }

  // ---------------------------------------------------------------- timers (timers.ts)

  nextDeadlineUs(): number {
    const state = this.state;
    if (state === ConnectionState.handshaking) return this.handshake.clientTimerUs();
    if (state === ConnectionState.closing) return this.closing.timerUs();
    if (state === ConnectionState.closed) return Infinity;
    return this.timers.nextDeadlineUs();
  }

  /** Returns true when the connection may now have something to send. */
  onTimeout(nowUs: number): boolean {
    const state = this.state;
    if (state === ConnectionState.handshaking) {
      if (this.handshake.hasTimedOut(nowUs)) {
        this.context.counters.handshakeFailed("timeout");
        this.terminate("handshake-timeout", 0, "no handshake reply");
        return false;
      }
      return this.handshake.isInitialDue(nowUs);
    }
    if (state === ConnectionState.closing) {
      if (this.closing.onTimer(nowUs)) {
        this.state = ConnectionState.closed;
        return false;
      }
      return this.closing.isSendPending();
    }
    if (state === ConnectionState.closed) return false;
    // Unreliable bytes leave the queue when sent, not when acknowledged: recheck here.
    this.timers.onDataWaiting(nowUs, !this.sendQueue.isEmpty());
    const fired = this.timers.fire(nowUs, this);
    if ((fired & TimerFired.idle) !== 0) {
      this.terminate("idle-timeout", 0, "nothing heard from the peer");
      return false;
    }
    if ((fired & TimerFired.stalled) !== 0) {
      this.stalled(nowUs);
      return true;
    }
    if ((fired & TimerFired.probe) !== 0) this.builder.sendProbes();
    this.builder.releaseResolvedFrames();
    if ((fired & TimerFired.keepalive) !== 0) this.builder.requestPing();
    if (this.reassembly.partialCount > 0) this.reassembly.evictOlderThan(nowUs, UNRELIABLE_REASSEMBLY_AGE_US);
    return true;
  }

  /** Data waited progressTimeoutUs and the peer acknowledged none of it: what we hold for it
   *  is released and the peer told (CLOSE), as it may still be listening. */
  private stalled(nowUs: number): void {
    const seconds = this.context.config.progressTimeoutUs / 1e6;
    this.close(nowUs, "stalled", false, 0, `the peer acknowledged none of the ${this.sendQueue.liveBytes} bytes waiting for ${seconds} s`);
  }

  // ---------------------------------------------------------------- transmit (packetBuilder.ts)

  /** Writes the next datagram for this connection into `out`; returns its length or 0. */
  buildDatagram(nowUs: number, out: Uint8Array): number {
    const state = this.state;
    if (state === ConnectionState.handshaking) return this.buildInitial(nowUs, out);
    if (this.handshake.takeReplyPending()) {
      const sealed = this.handshakeBytes;
      if (sealed !== null) {
        out.set(sealed);
        return sealed.length;
      }
      return writeHandshake(out, this.context.checksum, PROTOCOL_VERSION, this.peerHigh, this.peerLow, this.localHigh, this.localLow,
        this.flow.advertisedMaxData, this.context.config.maxAckDelayUs);
    }
    if (state === ConnectionState.closed) return 0;
    if (state === ConnectionState.closing) {
      if (!this.closing.isSendPending()) return 0;
      const length = this.builder.buildClose(nowUs, out, this.closing);
      if (this.closing.isPastDeadline(nowUs)) this.state = ConnectionState.closed; // an echo: done
      return length;
    }
    return this.builder.flush(nowUs, out);
  }

  private buildInitial(nowUs: number, out: Uint8Array): number {
    if (!this.handshake.takeInitialDue(nowUs)) return 0;
    const crypto = this.context.crypto;
    const offer = crypto === null ? 0 : OFFER_ENCRYPTED | crypto.fastCiphers;
    return writeInitial(out, this.context.checksum, PROTOCOL_VERSION, this.localHigh, this.localLow, this.flow.advertisedMaxData,
      this.context.config.maxAckDelayUs, this.handshake.cookie, offer, this.ephemeralPublic);
  }
}
