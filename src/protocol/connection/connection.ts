// One connection's state machine: builds DATA packets (ACK, control frames, retransmissions,
// then new message fragments, coalesced up to the MTU), processes received ones, and runs
// its timers (loss/PTO, delayed ACK, idle, keepalive, pacing, handshake retransmission).
import type { CloseReason, EngineDependencies, PeerAddress } from "../api.ts";
import type { ResolvedConfig } from "../config.ts";
import type { CongestionController } from "../congestion/controller.ts";
import { Pacer } from "../congestion/pacer.ts";
import type { Counters } from "../counters.ts";
import type { EventQueue } from "../events.ts";
import { writeHandshake, writeInitial } from "../handshake/packets.ts";
import { ReceivedRanges, ReceiveVerdict } from "../recovery/ackRanges.ts";
import { AckVerdict, LossDetection, type RecoveryHost } from "../recovery/lossDetection.ts";
import { FrameRefRing, SentFlag, SentPacketRing } from "../recovery/sentPackets.ts";
import { closeReasonCode, closeReasonFromCode } from "../wire/closeReasons.ts";
import {
  FrameReader,
  FrameType,
  MAX_ACK_RANGES,
  MESSAGE_FRAME_OVERHEAD_MAX,
  closeFrameLength,
  isReliableMode,
  messageHeaderLength,
  writeAck,
  writeClose,
  writeMaxData,
  writeMessageHeader,
  writePing,
} from "../wire/frames.ts";
import {
  CHECKSUM_BYTES,
  DATA_HEADER_BYTES,
  PROTOCOL_VERSION,
  PacketType,
  decodePacketNumber,
  readU32be,
  sealDatagram,
  writeConnectionId,
  writeU32be,
} from "../wire/packet.ts";
import { varintLength, writeVarint } from "../wire/varint.ts";
import { MessageVerdict, ReceiveChannels, type MessageSink } from "./receiveChannels.ts";
import { Reassembly, type ReassemblyBudget } from "./reassembly.ts";
import { RetransmitQueue, SendQueue } from "./sendQueue.ts";

export const ConnectionState = { handshaking: 0, connected: 1, drainingSend: 2, closing: 3, closed: 4 } as const;

/** What a connection shares with its endpoint. */
export interface ConnectionContext extends ReassemblyBudget {
  readonly config: ResolvedConfig;
  readonly deps: EngineDependencies;
  readonly counters: Counters;
  readonly events: EventQueue;
  readonly frameReader: FrameReader;
}

const PacketOutcome = { refused: 0, accepted: 1, ackEliciting: 2 } as const;
const INITIAL_RESEND_US = 250_000;
const SENT_PACKETS_MAX = 1 << 15;
const CLOSE_RESENDS_MAX = 3;
/** Partial unreliable messages older than this are abandoned. */
const UNRELIABLE_REASSEMBLY_AGE_US = 5_000_000;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export class Connection implements RecoveryHost, MessageSink {
  state: number = ConnectionState.handshaking;
  peerHigh = 0;
  peerLow = 0;
  // client handshake
  token: Uint8Array | null = null;
  retriesReceived = 0;
  initialDueUs = 0;
  initialSends = 0;
  handshakeDeadlineUs = Infinity;
  /** Server: a HANDSHAKE reply is owed (first, or again because the INITIAL came again). */
  handshakeReplyPending = false;
  /** Server: false until the client's first DATA packet arrives. */
  handshakeConfirmed = true;
  handshakeResendUs = Infinity;
  private handshakeResends = 0;
  /** Set by ACK processing; the graceful-close check runs after the whole packet. */
  private drainedCheckPending = false;
  // receive side
  readonly received = new ReceivedRanges();
  ackElicitingSinceAck = 0;
  ackDeadlineUs = Infinity;
  ackImmediate = false;
  ackNeeded = false;
  largestReceivedTimeUs = 0;
  lastReceivedUs: number;
  readonly reassembly: Reassembly;
  readonly channels: ReceiveChannels;
  consumedReliableBytes = 0;
  advertisedMaxData: number;
  maxDataPending = false;
  // send side
  readonly sendQueue: SendQueue;
  readonly retransmits = new RetransmitQueue();
  readonly frameRefs = new FrameRefRing(256);
  readonly sent = new SentPacketRing(64, SENT_PACKETS_MAX);
  readonly recovery: LossDetection;
  readonly pacer: Pacer;
  pacingDeadlineUs = Infinity;
  peerMaxData = 0;
  sentReliableBytes = 0;
  pingPending = false;
  probesPending = 0;
  drainWanted = false;
  private randomState: number;
  private packetsUntilSkip: number;
  // close
  closeReason: CloseReason = "graceful";
  closeCode = 0;
  closeMessage: Uint8Array = new Uint8Array(0);
  closeSendPending = false;
  closeResends = 0;
  closingDeadlineUs = Infinity;
  /** Until the peer answers, CLOSE goes out again at this time (then at doubling intervals). */
  closeResendUs = Infinity;
  closedEventSent = false;
  // stats
  packetsSent = 0;
  packetsReceived = 0;
  packetsLost = 0;
  packetsRetransmitted = 0;
  messagesSent = 0;
  messagesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  inReadyList = false;
  /** Position in the endpoint's connection array. */
  listIndex = -1;
  /** Bookkeeping of the endpoint's timer heap. */
  timerVersion = 0;
  timerDirty = false;

  constructor(
    readonly handle: number,
    readonly context: ConnectionContext,
    readonly remote: PeerAddress,
    readonly localHigh: number,
    readonly localLow: number,
    readonly cc: CongestionController,
    nowUs: number,
  ) {
    const config = context.config;
    this.lastReceivedUs = nowUs;
    this.advertisedMaxData = config.receiveWindowBytes;
    const fragmentPayloadMax = config.mtuBytes - DATA_HEADER_BYTES - CHECKSUM_BYTES - MESSAGE_FRAME_OVERHEAD_MAX;
    this.sendQueue = new SendQueue(config.sendBufferBytesPerConnection, config.sendBufferBytesPerChannel,
      config.messagesQueuedMaxPerConnection, fragmentPayloadMax);
    this.reassembly = new Reassembly(context, config.reassemblyBytesPerConnection, config.maxMessageBytes);
    this.channels = new ReceiveChannels(this, this.reassembly);
    this.recovery = new LossDetection(this.sent, config.maxAckDelayUs);
    this.pacer = new Pacer(config.mtuBytes);
    const seed = new Uint8Array(4);
    context.deps.randomBytes(seed);
    this.randomState = (readU32be(seed, 0) | 1) >>> 0;
    this.packetsUntilSkip = this.nextSkipInterval();
  }

  // ---------------------------------------------------------------- application commands

  send(channel: number, modeCode: number, data: Uint8Array): number {
    return this.sendQueue.enqueue(channel, modeCode, data);
  }

  close(nowUs: number, reason: CloseReason, graceful: boolean, closeCode: number, message: string): void {
    if (this.state >= ConnectionState.closing) return;
    this.closeReason = reason;
    this.closeCode = closeCode;
    this.closeMessage = ENCODER.encode(message).subarray(0, 256);
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
    this.closeSendPending = notifyPeer;
    const ptoUs = this.recovery.rtt.probeTimeoutUs(this.context.config.maxAckDelayUs);
    this.closingDeadlineUs = notifyPeer ? nowUs + 3 * ptoUs : nowUs;
    this.closeResendUs = nowUs + ptoUs;
    this.emitClosed();
  }

  /** Ends the connection at once without telling the peer (peer closed, idle, handshake failure). */
  terminate(reason: CloseReason, closeCode: number, message: string): void {
    if (this.state === ConnectionState.closed) return;
    if (!this.closedEventSent) {
      this.closeReason = reason;
      this.closeCode = closeCode;
      this.closeMessage = ENCODER.encode(message);
    }
    this.state = ConnectionState.closed;
    this.closeSendPending = false;
    this.emitClosed();
  }

  private emitClosed(): void {
    if (this.closedEventSent) return;
    this.closedEventSent = true;
    this.reassembly.clear();
    this.context.events.pushClosed(this.handle, {
      reason: this.closeReason,
      closeCode: this.closeCode,
      message: DECODER.decode(this.closeMessage),
    });
  }

  private checkDrained(nowUs: number): void {
    if (this.state === ConnectionState.drainingSend && this.sendQueue.isEmpty() && this.retransmits.count === 0) {
      this.beginClosing(nowUs, true);
    }
  }

  /** Finished: closed and nothing left to send; the endpoint forgets it. */
  isFinished(): boolean {
    return this.state === ConnectionState.closed;
  }

  bufferedBytes(): number {
    return this.sendQueue.liveBytes;
  }

  // ---------------------------------------------------------------- handshake (client)

  onRetry(nowUs: number, token: Uint8Array): void {
    if (this.state !== ConnectionState.handshaking || this.retriesReceived >= 3) {
      this.context.counters.drop("unexpected-retry");
      return;
    }
    this.retriesReceived++;
    this.token = token;
    this.initialDueUs = nowUs;
    this.initialSends = 0; // a new round trip: restart the backoff
  }

  onHandshake(nowUs: number, serverHigh: number, serverLow: number, initialMaxData: number): void {
    if (this.state !== ConnectionState.handshaking) return; // a duplicate reply
    this.peerHigh = serverHigh;
    this.peerLow = serverLow;
    this.peerMaxData = initialMaxData;
    this.state = ConnectionState.connected;
    this.lastReceivedUs = nowUs;
    this.context.counters.handshakesCompleted++;
    this.context.events.pushConnected(this.handle, this.remote);
    // An ACK-eliciting first packet confirms the handshake to the server promptly.
    this.pingPending = true;
  }

  /** Server side: the connection starts connected once the cookie came back. Until the
   *  client's first DATA packet confirms it, HANDSHAKE goes out again on a timer. */
  acceptAsServer(nowUs: number, clientHigh: number, clientLow: number, initialMaxData: number): void {
    this.peerHigh = clientHigh;
    this.peerLow = clientLow;
    this.peerMaxData = initialMaxData;
    this.state = ConnectionState.connected;
    this.handshakeReplyPending = true;
    this.handshakeConfirmed = false;
    this.handshakeResendUs = nowUs + INITIAL_RESEND_US;
  }

  /** The client sent its INITIAL again: it is alive, and our HANDSHAKE was lost. */
  onRepeatedInitial(nowUs: number): void {
    this.lastReceivedUs = nowUs;
    if (!this.handshakeConfirmed) this.handshakeReplyPending = true;
  }

  // ---------------------------------------------------------------- receive

  /** A DATA packet addressed to this connection; data[0..end) excludes the CRC trailer. */
  onDataPacket(nowUs: number, data: Uint8Array, end: number): void {
    const counters = this.context.counters;
    if (this.state === ConnectionState.handshaking) {
      counters.drop("not-connected");
      return;
    }
    const pnOffset = 1 + 8;
    const previousLargest = this.received.largest();
    const pn = decodePacketNumber(previousLargest, readU32be(data, pnOffset));
    const verdict = this.received.classify(pn);
    if (verdict !== ReceiveVerdict.fresh) {
      counters.drop(verdict === ReceiveVerdict.duplicate ? "duplicate" : "out-of-window");
      return;
    }
    if (this.state === ConnectionState.closing) {
      this.onPacketWhileClosing(data, pnOffset + 4, end);
      return;
    }
    const payloadStart = pnOffset + 4;
    if (!this.context.events.hasRoomFor(end - payloadStart)) {
      counters.drop("receive-buffer-full");
      counters.refuse("event-queue");
      return;
    }
    this.handshakeConfirmed = true;
    this.handshakeResendUs = Infinity;
    this.context.events.beginPacket(data, payloadStart, end);
    const outcome = this.processFrames(nowUs, data, payloadStart, end);
    if (this.drainedCheckPending) {
      // After every frame of the packet, so no message is delivered after "closed".
      this.drainedCheckPending = false;
      this.checkDrained(nowUs);
    }
    if (outcome === PacketOutcome.refused) return;
    this.received.insert(pn);
    this.packetsReceived++;
    this.bytesReceived += end + CHECKSUM_BYTES;
    this.lastReceivedUs = nowUs;
    if (pn > previousLargest) this.largestReceivedTimeUs = nowUs;
    if (outcome !== PacketOutcome.ackEliciting) return; // never ACK an ACK-only packet
    this.ackNeeded = true;
    this.ackElicitingSinceAck++;
    // Reordering or loss (a gap): tell the sender at once; otherwise every second packet.
    if (pn !== previousLargest + 1 || this.ackElicitingSinceAck >= 2) this.ackImmediate = true;
    else if (this.ackDeadlineUs === Infinity) this.ackDeadlineUs = nowUs + this.context.config.maxAckDelayUs;
  }

  /** The peer's CLOSE (or its echo of ours) ends the closing period; anything else gets
   *  our CLOSE again, a bounded number of times. */
  private onPacketWhileClosing(data: Uint8Array, start: number, end: number): void {
    const frame = this.context.frameReader;
    frame.reset(data, start, end);
    for (let type = frame.next(); type >= 0; type = frame.next()) {
      if (type === FrameType.close) {
        this.state = ConnectionState.closed;
        this.closeSendPending = false;
        return;
      }
    }
    if (this.closeResends < CLOSE_RESENDS_MAX) {
      this.closeResends++;
      this.closeSendPending = true;
    }
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
        this.protocolViolation(nowUs, "message outside the receive window");
        return PacketOutcome.refused;
      }
      if (type === FrameType.maxData) {
        if (frame.maxDataBytes > this.peerMaxData) this.peerMaxData = frame.maxDataBytes;
        continue;
      }
      if (type === FrameType.close) {
        const message = DECODER.decode(data.subarray(frame.closeMessageStart, frame.closeMessageStart + frame.closeMessageLength));
        this.terminate(closeReasonFromCode(frame.closeReasonCode), frame.closeCode, message);
        // Echo one CLOSE so the peer can stop resending its own, then forget the connection.
        this.state = ConnectionState.closing;
        this.closeSendPending = true;
        this.closeResends = CLOSE_RESENDS_MAX;
        this.closingDeadlineUs = nowUs;
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
    this.frameRefs.release(this.sent.frameFloor(this.frameRefs.end));
    const rtt = this.recovery.rtt;
    if (rtt.hasSample) this.context.counters.addRttSample(rtt.latestUs);
    this.checkDrain();
    if (this.state === ConnectionState.drainingSend) this.drainedCheckPending = true;
  }

  /** "drain" once a refused sender has room again: half the buffer free. Acknowledgements
   *  free reliable messages; sending frees unreliable ones. */
  private checkDrain(): void {
    const queue = this.sendQueue;
    if (this.drainWanted && queue.liveBytes <= queue.bufferBytesMax / 2) {
      this.drainWanted = false;
      this.context.events.pushDrain(this.handle);
    }
  }

  // MessageSink ----------------------------------------------------------------

  deliverCopy(channel: number, reliable: boolean, data: Uint8Array, start: number, length: number): void {
    this.messagesReceived++;
    this.context.counters.messagesReceived++;
    this.context.events.pushMessageCopy(this.handle, channel, reliable, data, start, length);
  }

  deliverBuffer(channel: number, reliable: boolean, buffer: Uint8Array): void {
    this.messagesReceived++;
    this.context.counters.messagesReceived++;
    this.context.events.pushMessageBuffer(this.handle, channel, reliable, buffer);
  }

  staleMessageDropped(): void {
    this.context.counters.drop("stale-sequenced");
  }

  reassemblyRefused(): void {
    this.context.counters.refuse("reassembly");
  }

  /** The application took a reliable message: open the peer's window. */
  onMessageConsumed(bytes: number): boolean {
    this.consumedReliableBytes += bytes;
    const window = this.context.config.receiveWindowBytes;
    const maxData = this.consumedReliableBytes + window;
    if (maxData - this.advertisedMaxData >= window / 4) {
      this.advertisedMaxData = maxData;
      this.maxDataPending = true;
      return true;
    }
    return false;
  }

  // RecoveryHost ----------------------------------------------------------------

  onPacketAcked(index: number, nowUs: number): void {
    const sent = this.sent;
    this.cc.onPacketAcked(nowUs, sent.sizeBytes[index], sent.timeSentUs[index], this.recovery.rtt);
    this.ackFrames(index);
  }

  onLostPacketAcked(index: number): void {
    this.context.counters.spuriousRetransmissions++;
    this.cc.undoReduction();
    this.ackFrames(index);
  }

  private ackFrames(index: number): void {
    const refs = this.frameRefs;
    const queue = this.sendQueue;
    const start = this.sent.frameStart[index];
    const count = this.sent.frameCount[index];
    for (let k = 0; k < count; k++) {
      const slot = refs.slot(start + k);
      queue.ackFragment(refs.serial[slot], refs.fragment[slot]);
    }
  }

  onPacketLost(index: number, nowUs: number): void {
    const sent = this.sent;
    this.packetsLost++;
    this.context.counters.packetsLost++;
    if ((sent.flags[index] & SentFlag.inFlight) !== 0) {
      this.cc.onPacketLost(nowUs, sent.sizeBytes[index], sent.timeSentUs[index], this.recovery.rtt);
    }
    if ((sent.flags[index] & SentFlag.carriedMaxData) !== 0) this.maxDataPending = true;
    this.requeueFrames(index);
  }

  onPersistentCongestion(nowUs: number): void {
    this.context.counters.refuse("persistent-congestion");
    this.cc.onPersistentCongestion(nowUs);
  }

  private requeueFrames(index: number): void {
    const refs = this.frameRefs;
    const queue = this.sendQueue;
    const start = this.sent.frameStart[index];
    const count = this.sent.frameCount[index];
    for (let k = 0; k < count; k++) {
      const slot = refs.slot(start + k);
      const serial = refs.serial[slot];
      const fragment = refs.fragment[slot];
      if (queue.isLive(serial) && !queue.isFragmentAcked(queue.slotOf(serial), fragment)) this.retransmits.push(serial, fragment);
    }
  }

  // ---------------------------------------------------------------- timers

  nextDeadlineUs(): number {
    const config = this.context.config;
    if (this.state === ConnectionState.handshaking) return Math.min(this.initialDueUs, this.handshakeDeadlineUs);
    if (this.state === ConnectionState.closing) return Math.min(this.closingDeadlineUs, this.closeResendUs);
    if (this.state === ConnectionState.closed) return Infinity;
    let deadline = Math.min(this.recovery.timerUs(), this.lastReceivedUs + config.idleTimeoutUs, this.pacingDeadlineUs, this.handshakeResendUs);
    if (this.ackNeeded && this.ackDeadlineUs < deadline) deadline = this.ackDeadlineUs;
    const keepaliveUs = Math.max(this.recovery.lastAckElicitingSentUs, this.lastReceivedUs - config.keepaliveIntervalUs / 2) + config.keepaliveIntervalUs;
    return Math.min(deadline, keepaliveUs);
  }

  /** Returns true when the connection may now have something to send. */
  onTimeout(nowUs: number): boolean {
    const config = this.context.config;
    if (this.state === ConnectionState.handshaking) {
      if (nowUs >= this.handshakeDeadlineUs) {
        this.context.counters.handshakeFailed("timeout");
        this.terminate("handshake-timeout", 0, "no handshake reply");
        return false;
      }
      return nowUs >= this.initialDueUs;
    }
    if (this.state === ConnectionState.closing) {
      if (nowUs >= this.closingDeadlineUs && !this.closeSendPending) {
        this.state = ConnectionState.closed;
        return false;
      }
      if (nowUs >= this.closeResendUs) {
        this.closeResendUs = this.closeResends < CLOSE_RESENDS_MAX ? nowUs + (this.closingDeadlineUs - nowUs) / 2 : Infinity;
        if (this.closeResends < CLOSE_RESENDS_MAX) {
          this.closeResends++;
          this.closeSendPending = true;
        }
      }
      return this.closeSendPending;
    }
    if (this.state === ConnectionState.closed) return false;
    if (nowUs >= this.lastReceivedUs + config.idleTimeoutUs) {
      this.terminate("idle-timeout", 0, "nothing heard from the peer");
      return false;
    }
    if (nowUs >= this.handshakeResendUs) {
      this.handshakeReplyPending = true;
      this.handshakeResends++;
      this.handshakeResendUs = nowUs + INITIAL_RESEND_US * 2 ** Math.min(this.handshakeResends, 2);
    }
    if (this.recovery.onTimeout(nowUs, this)) this.sendProbes();
    this.frameRefs.release(this.sent.frameFloor(this.frameRefs.end));
    if (this.ackNeeded && nowUs >= this.ackDeadlineUs) this.ackImmediate = true;
    const keepaliveUs = Math.max(this.recovery.lastAckElicitingSentUs, this.lastReceivedUs - config.keepaliveIntervalUs / 2) + config.keepaliveIntervalUs;
    if (nowUs >= keepaliveUs) this.pingPending = true;
    if (nowUs >= this.pacingDeadlineUs) this.pacingDeadlineUs = Infinity;
    if (this.reassembly.partialCount > 0) this.reassembly.evictOlderThan(nowUs, UNRELIABLE_REASSEMBLY_AGE_US);
    return true;
  }

  /** PTO: resend the oldest unacknowledged packet's fragments (or a PING) outside the window. */
  private sendProbes(): void {
    this.probesPending = 2;
    const sent = this.sent;
    for (let pn = sent.firstPn; pn < sent.nextPn(); pn++) {
      const i = sent.indexOf(pn);
      const flags = sent.flags[i];
      if ((flags & (SentFlag.acked | SentFlag.lost | SentFlag.skipped)) === 0 && (flags & SentFlag.ackEliciting) !== 0) {
        if (this.sent.frameCount[i] > 0) this.requeueFrames(i);
        else this.pingPending = true;
        return;
      }
    }
    this.pingPending = true;
  }

  // ---------------------------------------------------------------- transmit

  /** Writes the next datagram for this connection into `out`; returns its length or 0. */
  buildDatagram(nowUs: number, out: Uint8Array): number {
    const state = this.state;
    if (state === ConnectionState.handshaking) return this.buildInitial(nowUs, out);
    if (this.handshakeReplyPending) {
      this.handshakeReplyPending = false;
      const { deps } = this.context;
      return writeHandshake(out, deps.crc32c, PROTOCOL_VERSION, this.peerHigh, this.peerLow, this.localHigh, this.localLow, this.advertisedMaxData);
    }
    if (state === ConnectionState.closed) return 0;
    if (state === ConnectionState.closing) return this.closeSendPending ? this.buildClose(nowUs, out) : 0;
    return this.buildData(nowUs, out);
  }

  private buildInitial(nowUs: number, out: Uint8Array): number {
    if (nowUs < this.initialDueUs) return 0;
    this.initialSends++;
    // 250 ms, 500 ms, then every 1 s: a handshake lost twice still completes in seconds.
    this.initialDueUs = nowUs + INITIAL_RESEND_US * 2 ** Math.min(this.initialSends - 1, 2);
    const { deps } = this.context;
    return writeInitial(out, deps.crc32c, PROTOCOL_VERSION, this.localHigh, this.localLow, this.advertisedMaxData, this.token);
  }

  private writeHeader(out: Uint8Array, pn: number): number {
    out[0] = PacketType.data;
    writeConnectionId(out, 1, this.peerHigh, this.peerLow);
    return writeU32be(out, 9, pn >>> 0);
  }

  private buildClose(nowUs: number, out: Uint8Array): number {
    this.closeSendPending = false;
    const pn = this.takePacketNumber();
    let p = this.writeHeader(out, pn);
    const limit = this.context.config.mtuBytes - CHECKSUM_BYTES;
    if (p + closeFrameLength(this.closeMessage.length) > limit) this.closeMessage = this.closeMessage.subarray(0, 64);
    p = writeClose(out, p, closeReasonCode(this.closeReason), this.closeCode, this.closeMessage);
    const length = sealDatagram(out, p, this.context.deps.crc32c);
    this.recordSent(nowUs, length, SentFlag.acked, this.frameRefs.end, 0);
    if (nowUs >= this.closingDeadlineUs) this.state = ConnectionState.closed; // an echo: done
    return length;
  }

  /** Draws the next packet number, now and then skipping one (optimistic-ACK defence). */
  private takePacketNumber(): number {
    if (--this.packetsUntilSkip <= 0) {
      this.packetsUntilSkip = this.nextSkipInterval();
      this.recovery.recordSkipped(this.sent.nextPn());
      this.sent.push(0, 0, SentFlag.skipped, this.frameRefs.end, 0);
    }
    return this.sent.nextPn();
  }

  private nextSkipInterval(): number {
    // xorshift32: cheap, and seeded from deps.randomBytes so a peer cannot predict the gaps.
    let x = this.randomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.randomState = x >>> 0;
    return 32 + (this.randomState % 224);
  }

  private recordSent(nowUs: number, length: number, flags: number, frameStart: number, frameCount: number): void {
    this.sent.push(nowUs, length, flags, frameStart, frameCount);
    this.recovery.onPacketSent(nowUs, flags);
    this.packetsSent++;
    this.bytesSent += length;
  }

  private hasDataToSend(): boolean {
    return this.retransmits.count > 0 || (this.sendQueue.hasUnsent() && this.flowAllowsNext());
  }

  private flowAllowsNext(): boolean {
    const queue = this.sendQueue;
    const slot = queue.slotOf(queue.nextUnsentSerial);
    if (!isReliableMode(queue.modeCode[slot])) return true;
    return this.sentReliableBytes + queue.fragmentBytes(slot, queue.nextFragment[slot]) <= this.peerMaxData;
  }

  private buildData(nowUs: number, out: Uint8Array): number {
    const config = this.context.config;
    const mtu = config.mtuBytes;
    const probing = this.probesPending > 0;
    let dataAllowed = this.hasDataToSend() && !this.sent.isFull();
    if (dataAllowed && !probing) {
      if (this.recovery.bytesInFlight + mtu > this.cc.windowBytes) dataAllowed = false;
      else {
        this.pacer.setRate(this.cc.windowBytes, this.recovery.rtt.smoothedUs);
        const delayUntil = this.pacer.delayUntilUs(nowUs, mtu);
        if (delayUntil !== 0) {
          this.pacingDeadlineUs = delayUntil;
          dataAllowed = false;
        }
      }
    }
    const ackDue = this.ackNeeded && (this.ackImmediate || nowUs >= this.ackDeadlineUs);
    const controlDue = this.maxDataPending || this.pingPending || (probing && !dataAllowed);
    if (!dataAllowed && !ackDue && !controlDue) return 0;

    const pn = this.takePacketNumber();
    let p = this.writeHeader(out, pn);
    const limit = mtu - CHECKSUM_BYTES;
    let flags = 0;
    if (this.ackNeeded) p = this.writeAckFrame(nowUs, out, p, limit);
    if (this.maxDataPending) {
      this.maxDataPending = false;
      p = writeMaxData(out, p, this.advertisedMaxData);
      flags |= SentFlag.carriedMaxData | SentFlag.ackEliciting;
    }
    if (this.pingPending || (probing && !dataAllowed)) {
      this.pingPending = false;
      p = writePing(out, p);
      flags |= SentFlag.ackEliciting;
    }
    const frameStart = this.frameRefs.end;
    if (dataAllowed) {
      const before = p;
      p = this.writeRetransmissions(out, p, limit);
      p = this.writeNewData(out, p, limit);
      if (p !== before) flags |= SentFlag.ackEliciting;
      if (this.drainWanted) this.checkDrain();
    }
    if (probing && (flags & SentFlag.ackEliciting) !== 0) this.probesPending--;
    const length = sealDatagram(out, p, this.context.deps.crc32c);
    const frameCount = this.frameRefs.end - frameStart;
    if ((flags & SentFlag.ackEliciting) !== 0) {
      flags |= SentFlag.inFlight;
      this.recovery.bytesInFlight += length;
      this.cc.onPacketSent(nowUs, length);
      this.pacer.onPacketSent(nowUs, length);
    } else {
      flags |= SentFlag.acked; // ACK-only: nothing to recover, resolved at once
    }
    this.recordSent(nowUs, length, flags, frameStart, frameCount);
    return length;
  }

  private writeAckFrame(nowUs: number, out: Uint8Array, p: number, limit: number): number {
    const received = this.received;
    if (received.count === 0 || p + 1 + 8 + 8 + 1 + 8 > limit) return p;
    const ackDelayUs = Math.max(0, Math.floor(nowUs - this.largestReceivedTimeUs));
    p = writeAck(out, p, received.ranges, Math.min(received.count, MAX_ACK_RANGES), ackDelayUs, limit);
    this.ackNeeded = false;
    this.ackImmediate = false;
    this.ackElicitingSinceAck = 0;
    this.ackDeadlineUs = Infinity;
    return p;
  }

  private writeRetransmissions(out: Uint8Array, p: number, limit: number): number {
    const queue = this.sendQueue;
    const retransmits = this.retransmits;
    while (retransmits.count > 0) {
      const serial = retransmits.peekSerial();
      const fragment = retransmits.peekFragment();
      if (!queue.isLive(serial) || queue.isFragmentAcked(queue.slotOf(serial), fragment)) {
        retransmits.pop();
        continue;
      }
      const next = this.writeFragment(out, p, limit, queue.slotOf(serial), fragment);
      if (next < 0) break;
      p = next;
      this.frameRefs.push(serial, fragment);
      retransmits.pop();
      this.packetsRetransmitted++;
      this.context.counters.packetsRetransmitted++;
    }
    return p;
  }

  private writeNewData(out: Uint8Array, p: number, limit: number): number {
    const queue = this.sendQueue;
    const counters = this.context.counters;
    const refs = this.frameRefs;
    while (queue.nextUnsentSerial < queue.tailSerial) {
      const serial = queue.nextUnsentSerial;
      const slot = queue.slotOf(serial);
      if (queue.fragmentCount[slot] === 1) {
        // The hot path: a whole small message in one frame.
        const modeCode = queue.modeCode[slot];
        const length = queue.length[slot];
        if (modeCode <= 1 && this.sentReliableBytes + length > this.peerMaxData) break; // flow control
        const id = queue.messageId[slot];
        if (p + 2 + varintLength(id) + varintLength(length) + length > limit) break;
        out[p] = FrameType.message | (modeCode << 1);
        out[p + 1] = queue.channel[slot];
        p = writeVarint(out, writeVarint(out, p + 2, id), length);
        const bytes = queue.bytes;
        const from = queue.dataOffset[slot];
        if (length <= 64) for (let k = 0; k < length; k++) out[p + k] = bytes[from + k];
        else out.set(bytes.subarray(from, from + length), p);
        p += length;
        if (modeCode <= 1) {
          refs.push(serial, 0);
          this.sentReliableBytes += length;
        }
        this.messagesSent++;
        counters.messagesSent++;
        queue.onFragmentSent(slot);
        continue;
      }
      const fragment = queue.nextFragment[slot];
      const reliable = isReliableMode(queue.modeCode[slot]);
      const fragmentBytes = queue.fragmentBytes(slot, fragment);
      if (reliable && this.sentReliableBytes + fragmentBytes > this.peerMaxData) break; // flow control
      const next = this.writeFragment(out, p, limit, slot, fragment);
      if (next < 0) break;
      p = next;
      if (reliable) {
        this.frameRefs.push(serial, fragment);
        this.sentReliableBytes += fragmentBytes;
      }
      if (fragment === queue.fragmentCount[slot] - 1) {
        this.messagesSent++;
        counters.messagesSent++;
      }
      queue.onFragmentSent(slot);
    }
    return p;
  }

  /** Writes one MESSAGE frame; returns the new position or -1 if it does not fit. */
  private writeFragment(out: Uint8Array, p: number, limit: number, slot: number, fragment: number): number {
    const queue = this.sendQueue;
    const count = queue.fragmentCount[slot];
    const total = queue.length[slot];
    const length = queue.fragmentBytes(slot, fragment);
    const id = queue.messageId[slot];
    if (p + messageHeaderLength(id, fragment, count, total, length) + length > limit) return -1;
    p = writeMessageHeader(out, p, queue.modeCode[slot], queue.channel[slot], id, fragment, count, total, length);
    const from = queue.fragmentOffset(slot, fragment);
    const bytes = queue.bytes;
    if (length <= 64) for (let k = 0; k < length; k++) out[p + k] = bytes[from + k];
    else out.set(bytes.subarray(from, from + length), p);
    return p + length;
  }
}
