// One KCP conversation's protocol state: ikcp's ikcpcb, sans-IO. Time comes in as integer
// milliseconds (`nowMs`), datagrams go out through a sink, messages come out through a
// delivery interface. The logic follows ikcp.c (input, flush, RTO, fast retransmit, window
// probe, congestion window) so that ikcp and kcp-go peers see the behaviour they expect;
// where this differs it says why (the flush runs when there is something to send instead of
// on a fixed interval tick; see docs/KCP.md).
import type { KcpTuning } from "./config.ts";
import type { KcpCounters } from "./counters.ts";
import { MessageAssembly, OutOfOrderSegments, type ReceiveBudget } from "./receiveBuffer.ts";
import { KcpCommand, readSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader, u32Diff, writeSegmentHeader } from "./segment.ts";
import { SendBuffer } from "./sendBuffer.ts";

// ikcp.c constants.
const RTO_NODELAY_MIN_MS = 30;
const RTO_NORMAL_MIN_MS = 100;
const RTO_DEFAULT_MS = 200;
const RTO_MAX_MS = 60_000;
const ASK_SEND = 1; // send WASK: the peer's window is 0
const ASK_TELL = 2; // send WINS: the peer asked
const SSTHRESH_INIT = 2;
const SSTHRESH_MIN = 2;
const PROBE_INIT_MS = 7_000;
const PROBE_LIMIT_MS = 120_000;
const FASTACK_LIMIT = 5; // ikcp IKCP_FASTACK_LIMIT: fast-retransmit a segment at most this often
/** kcp-go's IKCP_WND_RCV: what the peer's window is taken to be before it says. */
const REMOTE_WINDOW_INITIAL = 32;

/** Where flush() writes datagrams: it fills `buffer` from 0 and calls `emit` with the length. */
export interface DatagramSink {
  readonly buffer: Uint8Array;
  emit(length: number): void;
}

/** Where complete messages go. */
export interface MessageDelivery {
  /** Whether `bytes` more of messages can be queued for the application now. */
  hasRoom(bytes: number): boolean;
  /** `owned`: data is a buffer made for this message alone, which the receiver may keep. */
  deliver(session: number, data: Uint8Array, offset: number, length: number, owned: boolean): void;
}

export type InputOutcome = "ok" | "window-violation";

export class KcpControlBlock {
  readonly mss: number;
  sndUna = 0;
  sndNxt = 0;
  rcvNxt = 0;
  ssthresh = SSTHRESH_INIT;
  rxRttVariance = 0;
  rxSrtt = 0;
  rxRto = RTO_DEFAULT_MS;
  readonly rxMinRto: number;
  remoteWindow = REMOTE_WINDOW_INITIAL;
  /** The largest window the peer ever advertised: a message with more fragments would never complete there. */
  remoteWindowMax = 0;
  /** ikcp starts at 0 and opens on its next interval tick; with no tick here it starts at 1. */
  cwnd = 1;
  private incr = 0;
  probe = 0;
  private probeAtMs = 0;
  private probeWaitMs = 0;
  /** A segment reached deadLinkTransmissions (ikcp sets state = -1). */
  deadLink = false;
  /** Something is due at the next flush (ACKs, probes, new data, a fast retransmit). */
  flushWanted = false;
  latestRttMs = 0;
  segmentsRetransmitted = 0;

  readonly send = new SendBuffer();
  private readonly outOfOrder: OutOfOrderSegments;
  private readonly assembly = new MessageAssembly();
  private ackSn = new Uint32Array(0);
  private ackTs = new Uint32Array(0);
  ackCount = 0;
  private readonly ackListMax: number;

  constructor(
    readonly conv: number,
    readonly session: number,
    private readonly tuning: KcpTuning,
    private readonly counters: KcpCounters,
    private readonly receiveBudget: ReceiveBudget,
    private readonly delivery: MessageDelivery,
  ) {
    this.mss = tuning.mtuBytes - SEGMENT_HEADER_BYTES;
    this.rxMinRto = tuning.nodelay !== 0 ? RTO_NODELAY_MIN_MS : RTO_NORMAL_MIN_MS;
    this.outOfOrder = new OutOfOrderSegments(tuning.receiveWindow);
    // One turn's worth of ACKs: a full window plus duplicates; more wait for the retransmit.
    this.ackListMax = 2 * tuning.receiveWindow + 256;
    this.incr = this.mss;
  }

  /** Splits a message into segments, frg counting down to 0 (message mode; stream mode off).
   *  `data` must be the engine's own copy: segments point into it. Returns fragments queued. */
  queueMessage(data: Uint8Array): number {
    const mss = this.mss;
    const count = data.length <= mss ? 1 : Math.ceil(data.length / mss);
    for (let i = 0; i < count; i++) {
      const offset = i * mss;
      this.send.append(count - i - 1, data, offset, Math.min(mss, data.length - offset));
    }
    this.flushWanted = true;
    return count;
  }

  /** ikcp_wnd_unused: free receive slots advertised to the peer. */
  private windowUnused(): number {
    const used = this.assembly.count;
    return used < this.tuning.receiveWindow ? this.tuning.receiveWindow - used : 0;
  }

  /** ikcp_input for a datagram that checkDatagram() accepted (every segment well-formed,
   *  one conversation). */
  input(nowMs: number, data: Uint8Array, length: number, header: SegmentHeader): InputOutcome {
    const unaBefore = this.sndUna;
    let ackSeen = false;
    let maxAck = 0;
    let at = 0;
    while (at < length) {
      readSegmentHeader(data, at, header);
      at += SEGMENT_HEADER_BYTES;
      this.counters.segmentsReceived++;
      this.remoteWindow = header.wnd;
      if (header.wnd > this.remoteWindowMax) this.remoteWindowMax = header.wnd;
      this.acknowledgeBelow(header.una);
      const cmd = header.cmd;
      if (cmd === KcpCommand.ack) {
        const rttMs = u32Diff(nowMs >>> 0, header.ts);
        if (rttMs >= 0) this.updateRto(rttMs);
        this.acknowledge(header.sn);
        if (!ackSeen || u32Diff(header.sn, maxAck) > 0) maxAck = header.sn;
        ackSeen = true;
      } else if (cmd === KcpCommand.push) {
        if (!this.receivePush(header, data, at)) return "window-violation";
      } else if (cmd === KcpCommand.windowAsk) {
        this.probe |= ASK_TELL;
        this.flushWanted = true;
      }
      // WINS carries nothing but the window, read above.
      at += header.len;
    }
    if (ackSeen) this.countFastAcks(maxAck);
    if (u32Diff(this.sndUna, unaBefore) > 0) this.growCongestionWindow();
    if (this.send.queued > 0 && this.windowRoom() > 0) this.flushWanted = true;
    if (this.remoteWindow === 0 && this.probeWaitMs === 0 && this.send.count > 0) this.flushWanted = true;
    return "ok";
  }

  /** ikcp_parse_una + ikcp_shrink_buf: everything below `una` arrived. */
  private acknowledgeBelow(una: number): void {
    const send = this.send;
    while (send.inFlight > 0 && u32Diff(una, this.sndUna) > 0) {
      send.popFront();
      this.sndUna = (this.sndUna + 1) >>> 0;
    }
  }

  /** ikcp_parse_ack: one segment arrived (ikcp frees it; here it is marked and freed once it
   *  reaches the front, so the ring never shifts). */
  private acknowledge(sn: number): void {
    if (u32Diff(sn, this.sndUna) < 0 || u32Diff(sn, this.sndNxt) >= 0) return;
    const send = this.send;
    send.markAcked(u32Diff(sn, this.sndUna));
    while (send.frontAcked()) {
      send.popFront();
      this.sndUna = (this.sndUna + 1) >>> 0;
    }
  }

  /** ikcp_parse_fastack (not IKCP_FASTACK_CONSERVE): every segment below the highest ACK of
   *  this datagram was skipped once more. */
  private countFastAcks(maxAck: number): void {
    if (u32Diff(maxAck, this.sndUna) < 0 || u32Diff(maxAck, this.sndNxt) >= 0) return;
    const send = this.send;
    const resend = this.tuning.fastResend;
    const below = u32Diff(maxAck, this.sndUna);
    for (let i = 0; i < below; i++) {
      const s = send.slot(i);
      if (send.acked[s] === 1) continue;
      send.fastack[s]++;
      if (resend > 0 && send.fastack[s] >= resend) this.flushWanted = true;
    }
  }

  /** ikcp_update_ack: RTT in ms; RTO = srtt + max(interval, 4 rttvar), bounded. */
  private updateRto(rttMs: number): void {
    if (this.rxSrtt === 0) {
      this.rxSrtt = rttMs;
      this.rxRttVariance = Math.floor(rttMs / 2);
    } else {
      const delta = Math.abs(rttMs - this.rxSrtt);
      this.rxRttVariance = Math.floor((3 * this.rxRttVariance + delta) / 4);
      this.rxSrtt = Math.floor((7 * this.rxSrtt + rttMs) / 8);
      if (this.rxSrtt < 1) this.rxSrtt = 1;
    }
    const rto = this.rxSrtt + Math.max(this.tuning.intervalMs, 4 * this.rxRttVariance);
    this.rxRto = Math.min(Math.max(this.rxMinRto, rto), RTO_MAX_MS);
    this.latestRttMs = rttMs;
    this.counters.addRttSample(rttMs * 1000);
  }

  /** The congestion window grows on every advance of snd_una (slow start, then ~1 MSS per RTT). */
  private growCongestionWindow(): void {
    if (this.tuning.noCongestionWindow || this.cwnd >= this.remoteWindow) return;
    const mss = this.mss;
    if (this.cwnd < this.ssthresh) {
      this.cwnd++;
      this.incr += mss;
    } else {
      if (this.incr < mss) this.incr = mss;
      this.incr += Math.floor((mss * mss) / this.incr) + Math.floor(mss / 16);
      if ((this.cwnd + 1) * mss <= this.incr) this.cwnd = Math.floor((this.incr + mss - 1) / mss);
    }
    if (this.cwnd > this.remoteWindow) {
      this.cwnd = this.remoteWindow;
      this.incr = this.remoteWindow * mss;
    }
  }

  /** A PUSH: acknowledge it if it is inside the window, keep it if it is new. Returns false
   *  only for a protocol violation (a message with more fragments than the receive window). */
  private receivePush(header: SegmentHeader, data: Uint8Array, at: number): boolean {
    const sn = header.sn;
    const window = this.tuning.receiveWindow;
    if (u32Diff(sn, (this.rcvNxt + window) >>> 0) >= 0) return true; // beyond the window: ikcp ignores it
    if (this.ackCount >= this.ackListMax) {
      this.counters.refuse("ack-list");
      return true; // unacknowledged: the peer retransmits
    }
    if (u32Diff(sn, this.rcvNxt) >= 0 && !this.outOfOrder.has(sn)) {
      if (!this.keepSegment(sn, header.frg, data, at, header.len)) return true; // refused: no ACK
    }
    this.pushAck(sn, header.ts);
    return this.moveInOrderSegments();
  }

  /** Stores a new segment, or delivers it at once when it is a whole message in order. */
  private keepSegment(sn: number, frg: number, data: Uint8Array, at: number, length: number): boolean {
    if (sn === this.rcvNxt && frg === 0 && this.assembly.count === 0) {
      if (!this.delivery.hasRoom(length)) {
        this.counters.refuse("event-queue");
        return false;
      }
      this.delivery.deliver(this.session, data, at, length, false);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      return true;
    }
    const budget = this.receiveBudget;
    if (budget.usedBytes + length > budget.maxBytes || !this.delivery.hasRoom(this.assembly.bytes + length)) {
      this.counters.refuse("receive-buffer-total");
      return false;
    }
    budget.usedBytes += length;
    this.outOfOrder.put(sn, frg, data.slice(at, at + length));
    return true;
  }

  /** ikcp moves rcv_buf -> rcv_queue while sn == rcv_nxt; here a fragment with frg 0 ends a
   *  message, which goes to the application at once. */
  private moveInOrderSegments(): boolean {
    const outOfOrder = this.outOfOrder;
    const assembly = this.assembly;
    const window = this.tuning.receiveWindow;
    while (outOfOrder.has(this.rcvNxt) && assembly.count < window) {
      const segment = outOfOrder.take(this.rcvNxt);
      const frg = outOfOrder.takenFrg;
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      if (frg === 0 && assembly.count === 0) {
        this.receiveBudget.usedBytes -= segment.length;
        this.delivery.deliver(this.session, segment, 0, segment.length, false);
        continue;
      }
      assembly.add(segment);
      if (frg === 0) {
        this.receiveBudget.usedBytes -= assembly.bytes;
        const message = assembly.join();
        this.delivery.deliver(this.session, message, 0, message.length, true);
      }
    }
    // A message that fills the whole window can never complete (ikcp would stall forever).
    return assembly.count < window;
  }

  private pushAck(sn: number, ts: number): void {
    if (this.ackCount === this.ackSn.length) {
      const capacity = Math.min(Math.max(16, this.ackSn.length * 2), this.ackListMax);
      const sns = new Uint32Array(capacity);
      const tss = new Uint32Array(capacity);
      sns.set(this.ackSn);
      tss.set(this.ackTs);
      this.ackSn = sns;
      this.ackTs = tss;
    }
    this.ackSn[this.ackCount] = sn;
    this.ackTs[this.ackCount] = ts;
    this.ackCount++;
    this.flushWanted = true;
  }

  /** Segments that may enter the window now (ikcp: snd_una + cwnd - snd_nxt). */
  private windowRoom(): number {
    let cwnd = Math.min(this.tuning.sendWindow, this.remoteWindow);
    if (!this.tuning.noCongestionWindow) cwnd = Math.min(cwnd, this.cwnd);
    return cwnd - u32Diff(this.sndNxt, this.sndUna);
  }

  /**
   * ikcp_flush, in its order: ACKs, window probes, new segments into the window,
   * (re)transmissions, congestion window update. Datagrams go to `sink`.
   */
  flush(nowMs: number, sink: DatagramSink): void {
    this.flushWanted = false;
    const window = this.windowUnused();
    let size = this.flushAcks(sink, window);
    size = this.flushProbes(nowMs, sink, window, size);
    this.admitQueuedSegments();
    size = this.flushSegments(nowMs, sink, window, size);
    if (size > 0) sink.emit(size);
  }

  private flushAcks(sink: DatagramSink, window: number): number {
    const mtu = this.tuning.mtuBytes;
    let size = 0;
    for (let i = 0; i < this.ackCount; i++) {
      if (size + SEGMENT_HEADER_BYTES > mtu) {
        sink.emit(size);
        size = 0;
      }
      size = writeSegmentHeader(sink.buffer, size, this.conv, KcpCommand.ack, 0, window, this.ackTs[i], this.ackSn[i], this.rcvNxt, 0);
      this.counters.segmentsSent++;
    }
    this.ackCount = 0;
    return size;
  }

  private flushProbes(nowMs: number, sink: DatagramSink, window: number, size: number): number {
    if (this.remoteWindow === 0) {
      if (this.probeWaitMs === 0) {
        this.probeWaitMs = PROBE_INIT_MS;
        this.probeAtMs = nowMs + this.probeWaitMs;
      } else if (nowMs >= this.probeAtMs) {
        this.probeWaitMs = Math.min(PROBE_LIMIT_MS, Math.max(this.probeWaitMs, PROBE_INIT_MS) * 1.5);
        this.probeWaitMs = Math.floor(this.probeWaitMs);
        this.probeAtMs = nowMs + this.probeWaitMs;
        this.probe |= ASK_SEND;
      }
    } else {
      this.probeAtMs = 0;
      this.probeWaitMs = 0;
    }
    const mtu = this.tuning.mtuBytes;
    for (const [flag, cmd] of PROBE_COMMANDS) {
      if ((this.probe & flag) === 0) continue;
      if (size + SEGMENT_HEADER_BYTES > mtu) {
        sink.emit(size);
        size = 0;
      }
      size = writeSegmentHeader(sink.buffer, size, this.conv, cmd, 0, window, 0, 0, this.rcvNxt, 0);
      this.counters.segmentsSent++;
    }
    this.probe = 0;
    return size;
  }

  /** Moves queued segments into the window: they get their sequence numbers now. */
  private admitQueuedSegments(): void {
    const send = this.send;
    let room = this.windowRoom();
    while (room > 0 && send.queued > 0) {
      send.inFlight++;
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      room--;
    }
  }

  private flushSegments(nowMs: number, sink: DatagramSink, window: number, size: number): number {
    const send = this.send;
    const tuning = this.tuning;
    const mtu = tuning.mtuBytes;
    const resend = tuning.fastResend > 0 ? tuning.fastResend : 0xffffffff;
    const rtoMin = tuning.nodelay === 0 ? this.rxRto >> 3 : 0;
    const ts = nowMs >>> 0;
    let fastRetransmits = 0;
    let lost = false;
    for (let i = 0; i < send.inFlight; i++) {
      const s = send.slot(i);
      if (send.acked[s] === 1) continue;
      if (send.xmit[s] === 0) {
        send.xmit[s] = 1;
        send.rtoMs[s] = this.rxRto;
        send.resendAtMs[s] = nowMs + this.rxRto + rtoMin;
      } else if (nowMs >= send.resendAtMs[s]) {
        send.xmit[s]++;
        // nodelay 0 doubles the RTO; 1 adds half of it; 2 adds half of the current rx_rto.
        const step = tuning.nodelay === 0 ? Math.max(send.rtoMs[s], this.rxRto) : Math.floor((tuning.nodelay < 2 ? send.rtoMs[s] : this.rxRto) / 2);
        send.rtoMs[s] += step;
        send.resendAtMs[s] = nowMs + send.rtoMs[s];
        lost = true;
        this.counters.packetsLost++;
        this.counters.packetsRetransmitted++;
        this.counters.framesRetransmitted++;
        this.segmentsRetransmitted++;
      } else if (send.fastack[s] >= resend && send.xmit[s] <= FASTACK_LIMIT) {
        send.xmit[s]++;
        send.fastack[s] = 0;
        send.resendAtMs[s] = nowMs + send.rtoMs[s];
        fastRetransmits++;
        this.counters.packetsRetransmitted++;
        this.counters.framesRetransmitted++;
        this.segmentsRetransmitted++;
      } else {
        continue;
      }
      const length = send.length[s];
      if (size + SEGMENT_HEADER_BYTES + length > mtu) {
        sink.emit(size);
        size = 0;
      }
      send.ts[s] = ts;
      const sn = (this.sndUna + i) >>> 0;
      size = writeSegmentHeader(sink.buffer, size, this.conv, KcpCommand.push, send.frg[s], window, ts, sn, this.rcvNxt, length);
      const data = send.data[s] as Uint8Array;
      const offset = send.offset[s];
      sink.buffer.set(data.subarray(offset, offset + length), size);
      size += length;
      this.counters.segmentsSent++;
      if (send.xmit[s] >= tuning.deadLinkTransmissions) this.deadLink = true;
    }
    this.counters.fastRetransmits += fastRetransmits;
    this.updateCongestionAfterFlush(fastRetransmits, lost, resend);
    return size;
  }

  /** ikcp: fast retransmits halve ssthresh to half the flight; an RTO drops cwnd to 1. */
  private updateCongestionAfterFlush(fastRetransmits: number, lost: boolean, resend: number): void {
    if (this.tuning.noCongestionWindow) return;
    const priorCwnd = this.cwnd;
    if (fastRetransmits > 0) {
      const inflight = u32Diff(this.sndNxt, this.sndUna);
      this.ssthresh = Math.max(SSTHRESH_MIN, Math.floor(inflight / 2));
      this.cwnd = this.ssthresh + (resend === 0xffffffff ? 0 : resend);
      this.incr = this.cwnd * this.mss;
    }
    if (lost) {
      this.ssthresh = Math.max(SSTHRESH_MIN, Math.floor(priorCwnd / 2));
      this.cwnd = 1;
      this.incr = this.mss;
    }
    if (this.cwnd < 1) {
      this.cwnd = 1;
      this.incr = this.mss;
    }
  }

  /** The earliest retransmission or window probe, in ms; Infinity when none is scheduled. */
  nextTimerMs(): number {
    const send = this.send;
    let earliest = Infinity;
    for (let i = 0; i < send.inFlight; i++) {
      const s = send.slot(i);
      if (send.acked[s] === 0 && send.resendAtMs[s] < earliest) earliest = send.resendAtMs[s];
    }
    if (this.remoteWindow === 0 && this.probeWaitMs !== 0 && this.probeAtMs < earliest) earliest = this.probeAtMs;
    return earliest;
  }

  /** Everything sent has been acknowledged and nothing waits. */
  get idle(): boolean {
    return this.send.count === 0;
  }

  /** Releases every buffer (session end); returns the receive bytes given back to the budget. */
  release(): number {
    this.send.clear();
    const received = this.outOfOrder.clear() + this.assembly.clear();
    this.receiveBudget.usedBytes -= received;
    return received;
  }
}

const PROBE_COMMANDS: readonly (readonly [number, number])[] = [
  [ASK_SEND, KcpCommand.windowAsk],
  [ASK_TELL, KcpCommand.windowTell],
];
