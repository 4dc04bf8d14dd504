// Packet building: what goes into the next DATA packet, and in which order. One fixed
// order, KCP's (ikcp_flush), so a newcomer can read the send policy in one function (flush):
//   1. ACK          whenever one is owed (it rides along; alone it goes out only when due)
//   2. MAX_DATA     when our receive limit moved or the packet that carried it was lost
//   3. PING         keepalive, handshake confirmation, or a PTO probe with nothing to resend
//   4. retransmissions of lost fragments (oldest first)
//   5. new data     whole small messages, then fragments, while flow control allows
// 4 and 5 wait for the congestion window and the pacer, except for PTO probes.
// The builder also owns packet numbering (with deliberate skips) and the record of what each
// packet carried, so that loss recovery can acknowledge or requeue its frames.
import type { ResolvedConfig } from "../config.ts";
import type { CongestionController } from "../congestion/controller.ts";
import type { Pacer } from "../congestion/pacer.ts";
import type { Counters } from "../counters.ts";
import type { EventQueue } from "../events.ts";
import type { LossDetection } from "../recovery/lossDetection.ts";
import { FrameRefRing, SentFlag, type SentPacketRing } from "../recovery/sentPackets.ts";
import { closeReasonCode } from "../wire/closeReasons.ts";
import { writeDataHeader } from "../wire/dataHeader.ts";
import {
  closeFrameLength,
  isReliableMode,
  messageHeaderLength,
  wholeMessageHeaderLength,
  writeClose,
  writeMaxData,
  writeMessageHeader,
  writePing,
  writeWholeMessageHeader,
} from "../wire/frames.ts";
import { CHECKSUM_BYTES, readU32be, sealDatagram, type DatagramChecksum } from "../wire/packet.ts";
import type { PacketSealer } from "../crypto/protection.ts";
import type { AckState } from "./ackState.ts";
import type { ClosingState } from "./closing.ts";
import type { FlowControl } from "./flowControl.ts";
import { RetransmitQueue, type SendQueue } from "./sendQueue.ts";
import type { ConnectionTimers } from "./timers.ts";
import type { TrafficStats } from "./trafficStats.ts";

/** Parts of the connection the builder reads and updates. */
export interface BuilderParts {
  readonly config: ResolvedConfig;
  readonly checksum: DatagramChecksum;
  readonly counters: Counters;
  readonly events: EventQueue;
  readonly handle: number;
  readonly stats: TrafficStats;
  readonly ack: AckState;
  readonly flow: FlowControl;
  readonly timers: ConnectionTimers;
  readonly sendQueue: SendQueue;
  readonly sent: SentPacketRing;
  readonly recovery: LossDetection;
  readonly cc: CongestionController;
  readonly pacer: Pacer;
}

export class PacketBuilder {
  readonly retransmits = new RetransmitQueue();
  /** Which (message, fragment) each sent packet carried, by absolute position. */
  readonly frameRefs = new FrameRefRing(16); // doubles on demand; idle connections stay small
  private pingPending = false;
  /** PTO probes still to send: they go out even when the congestion window is full. */
  private probesPending = 0;
  /** A sender was refused (buffer full): emit "drain" once half the buffer is free. */
  private drainWanted = false;
  private randomState: number;
  /** Frames the last writeRetransmissions() put into the packet being built. */
  private framesInLastRetransmission = 0;
  private packetsUntilSkip: number;
  private peerHigh = 0;
  private peerLow = 0;
  /** CRC32C trailer, or the connection's PacketProtection once keys exist (§9.4). */
  private sealer: PacketSealer;
  /** Bytes the trailer takes: fixed per endpoint (4 plaintext, 16 encrypted). */
  private readonly trailerBytes: number;

  constructor(
    private readonly parts: BuilderParts,
    randomSeed: Uint8Array,
    trailerBytes = CHECKSUM_BYTES,
  ) {
    const checksum = parts.checksum;
    this.sealer = { trailerBytes: CHECKSUM_BYTES, seal: (out, bodyEnd) => sealDatagram(out, bodyEnd, checksum) };
    this.trailerBytes = trailerBytes;
    this.randomState = (readU32be(randomSeed, 0) | 1) >>> 0;
    this.packetsUntilSkip = this.nextSkipInterval();
  }

  /** The peer's connection ID, written into every DATA header. */
  setPeerId(high: number, low: number): void {
    this.peerHigh = high;
    this.peerLow = low;
  }

  /** From the handshake on, every DATA packet is sealed with the connection's keys. */
  setSealer(sealer: PacketSealer): void {
    if (sealer.trailerBytes !== this.trailerBytes) throw new RangeError(`sealer trailer ${sealer.trailerBytes} != ${this.trailerBytes}`);
    this.sealer = sealer;
  }

  requestPing(): void {
    this.pingPending = true;
  }

  wantDrain(): void {
    this.drainWanted = true;
  }

  hasRetransmissions(): boolean {
    return this.retransmits.count > 0;
  }

  // ---------------------------------------------------------------- the flush

  /** Writes the next DATA packet into `out`; returns its length, or 0 when nothing is due. */
  flush(nowUs: number, out: Uint8Array): number {
    const { config, ack, flow, recovery, cc, pacer } = this.parts;
    const mtu = config.mtuBytes;
    const probing = this.probesPending > 0;
    let dataAllowed = this.hasDataToSend() && !this.parts.sent.isFull();
    if (dataAllowed && !probing) {
      if (recovery.bytesInFlight + mtu > cc.windowBytes) dataAllowed = false;
      else {
        pacer.setRateBytesPerUs(cc.pacingRateBytesPerUs(recovery.rtt.smoothedUs));
        const delayUntil = pacer.delayUntilUs(nowUs, mtu);
        if (delayUntil !== 0) {
          this.parts.timers.holdForPacing(delayUntil);
          dataAllowed = false;
        }
      }
    }
    const ackDue = ack.isDue(nowUs);
    const controlDue = flow.isMaxDataOwed() || this.pingPending || (probing && !dataAllowed);
    if (!dataAllowed && !ackDue && !controlDue) {
      if (!this.hasDataToSend()) cc.onAppLimited(recovery.bytesInFlight);
      return 0;
    }

    const pn = this.takePacketNumber();
    let p = this.writeHeader(out, pn);
    const limit = mtu - this.trailerBytes;
    let flags = 0;
    // 1. ACK
    if (ack.isOwed()) p = ack.writeFrame(nowUs, out, p, limit);
    // 2. MAX_DATA
    if (flow.isMaxDataOwed()) {
      p = writeMaxData(out, p, flow.takeMaxData());
      flags |= SentFlag.carriedMaxData | SentFlag.ackEliciting;
    }
    // 3. PING / probe
    if (this.pingPending || (probing && !dataAllowed)) {
      this.pingPending = false;
      p = writePing(out, p);
      flags |= SentFlag.ackEliciting;
    }
    const frameStart = this.frameRefs.end;
    if (dataAllowed) {
      const before = p;
      // 4. retransmissions, 5. new data
      const retransmittedFrames = this.writeRetransmissions(out, p, limit);
      if (this.framesInLastRetransmission > 0) {
        // Counted per packet (a packet carrying several retransmitted frames is one retransmission).
        this.parts.stats.packetsRetransmitted++;
        this.parts.counters.packetsRetransmitted++;
      }
      p = this.writeNewData(out, retransmittedFrames, limit);
      if (p !== before) flags |= SentFlag.ackEliciting | SentFlag.carriedData;
      if (this.drainWanted) this.notifyDrainIfRoom();
    }
    if (probing && (flags & SentFlag.ackEliciting) !== 0) this.probesPending--;
    const length = this.sealer.seal(out, p, pn);
    const frameCount = this.frameRefs.end - frameStart;
    if ((flags & SentFlag.ackEliciting) !== 0) {
      flags |= SentFlag.inFlight;
      recovery.bytesInFlight += length;
      cc.onPacketSent(nowUs, length, recovery.bytesInFlight);
      pacer.onPacketSent(nowUs, length);
    } else {
      flags |= SentFlag.acked; // ACK-only: nothing to recover, resolved at once
    }
    this.recordSent(nowUs, length, flags, frameStart, frameCount);
    return length;
  }

  /** A DATA packet carrying only CLOSE (nothing in it is retransmitted). */
  buildClose(nowUs: number, out: Uint8Array, closing: ClosingState): number {
    closing.takeSend();
    const pn = this.takePacketNumber();
    let p = this.writeHeader(out, pn);
    const limit = this.parts.config.mtuBytes - this.trailerBytes;
    if (p + closeFrameLength(closing.message.length) > limit) closing.shortenMessage(64);
    p = writeClose(out, p, closeReasonCode(closing.reason), closing.closeCode, closing.message);
    const length = this.sealer.seal(out, p, pn);
    this.recordSent(nowUs, length, SentFlag.acked, this.frameRefs.end, 0);
    return length;
  }

  private hasDataToSend(): boolean {
    return this.retransmits.count > 0 || (this.parts.sendQueue.hasUnsent() && this.flowAllowsNext());
  }

  private flowAllowsNext(): boolean {
    const queue = this.parts.sendQueue;
    const slot = queue.slotOf(queue.nextUnsentSerial);
    if (!isReliableMode(queue.modeCode[slot])) return true;
    return this.parts.flow.allowsReliable(queue.fragmentBytes(slot, queue.nextFragment[slot]));
  }

  private writeHeader(out: Uint8Array, pn: number): number {
    return writeDataHeader(out, this.peerHigh, this.peerLow, pn);
  }

  /** Draws the next packet number, now and then skipping one (optimistic-ACK defence). */
  private takePacketNumber(): number {
    const sent = this.parts.sent;
    if (--this.packetsUntilSkip <= 0) {
      this.packetsUntilSkip = this.nextSkipInterval();
      this.parts.recovery.recordSkipped(sent.nextPn());
      sent.push(0, 0, SentFlag.skipped, this.frameRefs.end, 0);
    }
    return sent.nextPn();
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
    this.parts.sent.push(nowUs, length, flags, frameStart, frameCount);
    this.parts.recovery.onPacketSent(nowUs, flags);
    const stats = this.parts.stats;
    stats.packetsSent++;
    stats.bytesSent += length;
    if ((flags & SentFlag.ackEliciting) !== 0) {
      stats.ackElicitingPacketsSent++;
      this.parts.counters.ackElicitingPacketsSent++;
    }
  }

  private writeRetransmissions(out: Uint8Array, p: number, limit: number): number {
    const queue = this.parts.sendQueue;
    const retransmits = this.retransmits;
    let frames = 0;
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
      frames++;
    }
    this.framesInLastRetransmission = frames;
    this.parts.stats.framesRetransmitted += frames;
    this.parts.counters.framesRetransmitted += frames;
    return p;
  }

  private writeNewData(out: Uint8Array, p: number, limit: number): number {
    const { sendQueue: queue, counters, flow, stats } = this.parts;
    const refs = this.frameRefs;
    while (queue.nextUnsentSerial < queue.tailSerial) {
      const serial = queue.nextUnsentSerial;
      const slot = queue.slotOf(serial);
      if (queue.fragmentCount[slot] === 1) {
        // The hot path: a whole small message in one frame.
        const modeCode = queue.modeCode[slot];
        const length = queue.length[slot];
        if (modeCode <= 1 && !flow.allowsReliable(length)) break; // flow control
        const id = queue.messageId[slot];
        if (p + wholeMessageHeaderLength(id, length) + length > limit) break;
        p = writeWholeMessageHeader(out, p, modeCode, queue.channel[slot], id, length);
        const bytes = queue.bytes;
        const from = queue.dataOffset[slot];
        if (length <= 64) for (let k = 0; k < length; k++) out[p + k] = bytes[from + k];
        else out.set(bytes.subarray(from, from + length), p);
        p += length;
        if (modeCode <= 1) {
          refs.push(serial, 0);
          flow.onReliableSent(length);
        }
        stats.messagesSent++;
        counters.messagesSent++;
        queue.onFragmentSent(slot);
        continue;
      }
      const fragment = queue.nextFragment[slot];
      const reliable = isReliableMode(queue.modeCode[slot]);
      const fragmentBytes = queue.fragmentBytes(slot, fragment);
      if (reliable && !flow.allowsReliable(fragmentBytes)) break; // flow control
      const next = this.writeFragment(out, p, limit, slot, fragment);
      if (next < 0) break;
      p = next;
      if (reliable) {
        refs.push(serial, fragment);
        flow.onReliableSent(fragmentBytes);
      }
      if (fragment === queue.fragmentCount[slot] - 1) {
        stats.messagesSent++;
        counters.messagesSent++;
      }
      queue.onFragmentSent(slot);
    }
    return p;
  }

  /** Writes one MESSAGE frame; returns the new position or -1 if it does not fit. */
  private writeFragment(out: Uint8Array, p: number, limit: number, slot: number, fragment: number): number {
    const queue = this.parts.sendQueue;
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

  // ---------------------------------------------------------------- what the packets carried

  /** "drain" once a refused sender has room again: half the buffer free. Acknowledgements
   *  free reliable messages; sending frees unreliable ones. */
  notifyDrainIfRoom(): void {
    const queue = this.parts.sendQueue;
    if (this.drainWanted && queue.liveBytes <= queue.bufferBytesMax / 2) {
      this.drainWanted = false;
      this.parts.events.pushDrain(this.parts.handle);
    }
  }

  /** Packet `index` of the sent ring was acknowledged: so are its fragments. */
  ackFrames(index: number): void {
    const refs = this.frameRefs;
    const queue = this.parts.sendQueue;
    const sent = this.parts.sent;
    const start = sent.frameStart[index];
    const count = sent.frameCount[index];
    for (let k = 0; k < count; k++) {
      const slot = refs.slot(start + k);
      queue.ackFragment(refs.serial[slot], refs.fragment[slot]);
    }
  }

  /** Packet `index` was lost: its fragments not yet acknowledged go out again. */
  requeueFrames(index: number): void {
    const refs = this.frameRefs;
    const queue = this.parts.sendQueue;
    const sent = this.parts.sent;
    const start = sent.frameStart[index];
    const count = sent.frameCount[index];
    for (let k = 0; k < count; k++) {
      const slot = refs.slot(start + k);
      const serial = refs.serial[slot];
      const fragment = refs.fragment[slot];
      if (queue.isLive(serial) && !queue.isFragmentAcked(queue.slotOf(serial), fragment)) this.retransmits.push(serial, fragment);
    }
  }

  /** Frame references of resolved packets are no longer needed. */
  releaseResolvedFrames(): void {
    this.frameRefs.release(this.parts.sent.frameFloor(this.frameRefs.end));
  }

  /** PTO: resend the oldest unacknowledged packet's fragments (or a PING) outside the window. */
  sendProbes(): void {
    this.probesPending = 2;
    const sent = this.parts.sent;
    for (let pn = sent.firstPn; pn < sent.nextPn(); pn++) {
      const i = sent.indexOf(pn);
      const flags = sent.flags[i];
      if ((flags & (SentFlag.acked | SentFlag.lost | SentFlag.skipped)) === 0 && (flags & SentFlag.ackEliciting) !== 0) {
        if (sent.frameCount[i] > 0) this.requeueFrames(i);
        else this.pingPending = true;
        return;
      }
    }
    this.pingPending = true;
  }
}
