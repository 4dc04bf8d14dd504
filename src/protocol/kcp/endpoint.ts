// The KCP engine behind the same sans-IO contract as the RUDP engine (api.ts Engine): one per
// socket, sessions keyed by (source address, conv), datagrams in through handleDatagram,
// out through pollTransmit, one deadline through pollTimeout, events through pollEvent.
// Plain KCP only (kcp-go without FEC and without a cipher, or ikcp): anything else is dropped
// and counted by what it looks like. See docs/KCP.md.
import type { CloseReason, ConnectionStats, Engine, EngineEvent, PeerAddress, SendResult, TransmitInfo } from "../api.ts";
import { EventQueue } from "../events.ts";
import { TimerHeap } from "../timerHeap.ts";
import { type KcpEngineConfig, resolveKcpConfig } from "./config.ts";
import { KcpControlBlock, type MessageDelivery } from "./controlBlock.ts";
import { KcpCounters } from "./counters.ts";
import { OutputQueue } from "./outputQueue.ts";
import type { ReceiveBudget } from "./receiveBuffer.ts";
import { checkDatagram, emptySegmentHeader, KcpCommand, readSegmentHeader, SEGMENT_HEADER_BYTES } from "./segment.ts";
import { KcpSession } from "./session.ts";
import { SessionTable, SourceRateLimiter } from "./sessionTable.ts";

export interface KcpEngineDependencies {
  /** Fills `out` with random bytes (the client's conv). */
  randomBytes: (out: Uint8Array) => void;
}

/** An Engine that also says which protocol it speaks, for metrics. */
export interface KcpEngine extends Engine {
  readonly protocol: "kcp";
  readonly counters: KcpCounters;
  readonly config: KcpEngineConfig;
}

/** Until the peer advertises its window, assume kcp-go's default receive window. */
const REMOTE_WINDOW_ASSUMED = 32;
const DEAD_LINK_MESSAGE = "the peer stopped acknowledging: a segment was sent the KCP dead-link number of times without an acknowledgement";

export class KcpEndpoint implements KcpEngine, MessageDelivery {
  readonly protocol = "kcp" as const;
  readonly config: KcpEngineConfig;
  readonly counters = new KcpCounters();
  private readonly sessions = new Map<number, KcpSession>();
  private readonly sessionList: KcpSession[] = [];
  private readonly table = new SessionTable<KcpSession>();
  private readonly sourceLimiter: SourceRateLimiter;
  private readonly events: EventQueue;
  private readonly output: OutputQueue;
  private readonly timers = new TimerHeap<KcpSession>();
  private readonly flushList: KcpSession[] = [];
  private flushListHead = 0;
  private readonly receiveBudget: ReceiveBudget;
  private readonly firstHeader = emptySegmentHeader();
  private readonly scratchHeader = emptySegmentHeader();
  private nextSessionId = 1;
  private nowMs = 0;

  constructor(
    config: Partial<KcpEngineConfig>,
    private readonly deps: KcpEngineDependencies,
  ) {
    this.config = resolveKcpConfig(config);
    this.sourceLimiter = new SourceRateLimiter(this.config.sessionsPerSourcePerSecondMax, this.config.sourcesTrackedMax);
    this.events = new EventQueue(this.config.eventsMax, this.config.eventBytesMax);
    this.output = new OutputQueue(this.config.mtuBytes);
    this.receiveBudget = { usedBytes: 0, maxBytes: this.config.receiveBufferBytesTotal };
  }

  // ---- MessageDelivery (called by control blocks during input)

  hasRoom(bytes: number): boolean {
    return this.events.hasRoomFor(bytes);
  }

  deliver(session: number, data: Uint8Array, offset: number, length: number, owned: boolean): void {
    if (owned) this.events.pushMessageBuffer(session, 0, false, data);
    else this.events.pushMessageCopy(session, 0, false, data, offset, length);
    this.counters.messagesReceived++;
    const owner = this.sessions.get(session);
    if (owner) owner.messagesReceived++;
  }

  // ---- network input

  handleDatagram(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    const nowMs = this.advanceClock(nowUs);
    const counters = this.counters;
    counters.datagramsReceived++;
    counters.bytesReceived += data.length;
    const verdict = checkDatagram(data, data.length, this.firstHeader, this.scratchHeader);
    if (verdict !== null) return counters.drop(verdict);
    const conv = this.firstHeader.conv;
    let session = this.table.get(from, conv);
    if (session === undefined) {
      const created = this.acceptNewSession(nowMs, data, from, conv);
      if (created === null) return;
      session = created;
    }
    session.lastHeardMs = nowMs;
    session.datagramsReceived++;
    session.bytesReceived += data.length;
    const outcome = session.cb.input(nowMs, data, data.length, this.scratchHeader);
    if (outcome === "window-violation") {
      this.finish(session, "protocol-violation", 0, `the peer sent a message of more fragments than the receive window (${this.config.receiveWindow} segments) holds: raise the receive window or send smaller messages`);
      return;
    }
    this.afterActivity(session);
    counters.receiveBufferedBytes = this.receiveBudget.usedBytes;
  }

  /** A datagram for no known session starts one only if it carries the conversation's first
   *  segment (a PUSH with sn 0): late segments of a session that ended do not revive it. */
  private acceptNewSession(nowMs: number, data: Uint8Array, from: PeerAddress, conv: number): KcpSession | null {
    const counters = this.counters;
    if (this.config.role === "client" || !startsConversation(data, this.scratchHeader)) {
      counters.drop("unknown-session");
      return null;
    }
    if (this.sessions.size >= this.config.maxSessions) {
      counters.refuse("sessions-total");
      return null;
    }
    const refusal = this.sourceLimiter.admit(from.host, nowMs);
    if (refusal !== null) {
      counters.refuse(refusal);
      return null;
    }
    counters.handshakesCompleted++;
    return this.openSession(nowMs, from, conv);
  }

  private openSession(nowMs: number, remote: PeerAddress, conv: number): KcpSession {
    const id = this.nextSessionId++;
    const cb = new KcpControlBlock(conv, id, this.config, this.counters, this.receiveBudget, this);
    const session = new KcpSession(id, remote, cb, nowMs, this.config.deadPeerTimeoutMs);
    this.sessions.set(id, session);
    session.listIndex = this.sessionList.length;
    this.sessionList.push(session);
    this.table.add(remote, conv, session);
    this.counters.connectionsOpened++;
    this.counters.connectionsActive++;
    this.events.pushConnected(id, remote);
    this.timers.markDirty(session);
    return session;
  }

  /** After input or a send: queue a flush, settle the byte gauge, emit drain, finish a close. */
  private afterActivity(session: KcpSession): void {
    const cb = session.cb;
    this.settleSendBytes(session);
    if (cb.deadLink) {
      this.counters.deadLinks++;
      this.finish(session, "idle-timeout", 0, DEAD_LINK_MESSAGE);
      return;
    }
    if (session.closing !== null && cb.idle && cb.ackCount === 0) {
      this.finish(session, session.closing.reason, session.closing.closeCode, "");
      return;
    }
    if (session.drainWanted && this.hasSendRoom(session)) {
      session.drainWanted = false;
      this.events.pushDrain(session.id);
    }
    if (cb.flushWanted) this.queueFlush(session);
    this.timers.markDirty(session);
  }

  private settleSendBytes(session: KcpSession): void {
    const bytes = session.cb.send.bytes;
    this.counters.sendBufferedBytes += bytes - session.accountedSendBytes;
    session.accountedSendBytes = bytes;
  }

  /** Room again once half of the per-session buffer (and of the total) is free. */
  private hasSendRoom(session: KcpSession): boolean {
    const config = this.config;
    return session.cb.send.bytes <= config.sendBufferBytesPerSession / 2 && this.counters.sendBufferedBytes <= config.sendBufferBytesTotal / 2;
  }

  private queueFlush(session: KcpSession): void {
    if (session.flushQueued) return;
    session.flushQueued = true;
    this.flushList.push(session);
  }

  // ---- timers

  handleTimeout(nowUs: number): void {
    const nowMs = this.advanceClock(nowUs);
    this.timers.refresh(this.sessionList);
    for (let session = this.timers.popDue(nowUs); session !== null; session = this.timers.popDue(nowUs)) {
      if (nowMs >= session.lastHeardMs + this.config.deadPeerTimeoutMs) {
        const seconds = this.config.deadPeerTimeoutMs / 1000;
        this.finish(session, "idle-timeout", 0, `nothing heard from the peer for ${seconds} s (KCP has no keepalive: the client must send something at least that often)`);
        continue;
      }
      if (session.closing !== null && nowMs >= session.closing.lingerUntilMs) {
        this.finish(session, session.closing.reason, session.closing.closeCode, "the peer did not acknowledge everything queued before the close linger ran out");
        continue;
      }
      this.queueFlush(session); // a retransmission or a window probe is due
      this.timers.markDirty(session);
    }
  }

  pollTimeout(): number {
    this.timers.refresh(this.sessionList);
    return this.timers.peek();
  }

  // ---- output

  pollTransmit(nowUs: number, out: Uint8Array, info: TransmitInfo): boolean {
    const nowMs = this.advanceClock(nowUs);
    const output = this.output;
    while (output.pending === 0) {
      const session = this.nextToFlush();
      if (session === null) return false;
      output.destination = session.remote;
      output.session = session.id;
      session.cb.flush(nowMs, output);
      session.datagramsSent += output.pending;
      this.afterActivity(session);
    }
    const length = output.take(out);
    info.length = length;
    info.to = output.destination;
    this.counters.datagramsSent++;
    this.counters.bytesSent += length;
    const session = this.sessions.get(output.session);
    if (session) session.bytesSent += length;
    return true;
  }

  private nextToFlush(): KcpSession | null {
    while (this.flushListHead < this.flushList.length) {
      const session = this.flushList[this.flushListHead++];
      session.flushQueued = false;
      if (!session.finished) return session;
    }
    this.flushList.length = 0;
    this.flushListHead = 0;
    return null;
  }

  pollEvent(): EngineEvent | null {
    return this.events.pop();
  }

  // ---- application commands

  connect(nowUs: number, to: PeerAddress): number {
    if (this.config.role !== "client") throw new Error("KCP connect() needs an engine with role 'client'");
    const nowMs = this.advanceClock(nowUs);
    const convBytes = new Uint8Array(4);
    let conv = 0;
    for (let attempt = 0; attempt < 8 && (conv === 0 || this.table.get(to, conv)); attempt++) {
      this.deps.randomBytes(convBytes);
      conv = new DataView(convBytes.buffer).getUint32(0, true);
    }
    this.counters.handshakesCompleted++;
    return this.openSession(nowMs, to, conv).id;
  }

  send(connection: number, channel: number, data: Uint8Array): SendResult {
    if (channel !== 0) throw new RangeError(`KCP carries one stream: send on channel 0, not ${channel}`);
    const session = this.sessions.get(connection);
    if (session === undefined || session.closing !== null) return "closed";
    const config = this.config;
    if (data.length === 0) return "queued"; // KCP cannot carry an empty message (ikcp and kcp-go refuse it)
    const fragments = Math.ceil(data.length / session.cb.mss);
    // Every fragment must fit in the peer's receive window at once, or the message never completes there.
    const peerWindow = session.cb.remoteWindowMax || REMOTE_WINDOW_ASSUMED;
    if (fragments > config.fragmentsPerMessageMax || fragments > peerWindow || data.length > config.sendBufferBytesPerSession) {
      this.counters.refuse("message-size");
      return "too-large";
    }
    if (session.cb.send.bytes + data.length > config.sendBufferBytesPerSession) return this.refuseSend(session, "send-buffer");
    if (this.counters.sendBufferedBytes + data.length > config.sendBufferBytesTotal) return this.refuseSend(session, "send-buffer-total");
    session.cb.queueMessage(data.slice());
    session.messagesSent++;
    this.counters.messagesSent++;
    this.settleSendBytes(session);
    this.queueFlush(session);
    return "queued";
  }

  private refuseSend(session: KcpSession, limit: string): SendResult {
    session.drainWanted = true;
    this.counters.refuse(limit);
    return "buffer-full";
  }

  close(connection: number, reason: CloseReason, graceful: boolean, closeCode = 0): void {
    const session = this.sessions.get(connection);
    if (session === undefined) return;
    if (graceful && !session.cb.idle) {
      session.closing ??= { reason, closeCode, lingerUntilMs: this.nowMs + this.config.closeLingerMs };
      this.timers.markDirty(session);
      return;
    }
    this.finish(session, reason, closeCode, "");
  }

  /** Ends a session now: its buffers go, its address entry goes, "closed" follows. */
  private finish(session: KcpSession, reason: CloseReason, closeCode: number, message: string): void {
    if (session.finished) return;
    session.finished = true;
    session.cb.release();
    this.settleSendBytes(session);
    this.sessions.delete(session.id);
    const last = this.sessionList.pop() as KcpSession;
    if (last !== session) {
      this.sessionList[session.listIndex] = last;
      last.listIndex = session.listIndex;
    }
    this.table.delete(session.remote, session.conv);
    this.counters.connectionsActive--;
    this.counters.connectionClosed(reason);
    this.counters.receiveBufferedBytes = this.receiveBudget.usedBytes;
    this.events.pushClosed(session.id, { reason, closeCode, message });
  }

  bufferedBytes(connection: number): number {
    return this.sessions.get(connection)?.cb.send.bytes ?? 0;
  }

  connectionStats(connection: number): ConnectionStats | null {
    const session = this.sessions.get(connection);
    if (session === undefined) return null;
    const cb = session.cb;
    return {
      remote: session.remote,
      rttSmoothedUs: cb.rxSrtt * 1000,
      rttVarianceUs: cb.rxRttVariance * 1000,
      rttMinUs: 0,
      latestRttUs: cb.latestRttMs * 1000,
      congestionWindowBytes: (this.config.noCongestionWindow ? Math.min(this.config.sendWindow, cb.remoteWindow) : cb.cwnd) * cb.mss,
      bytesInFlight: cb.send.bytes,
      packetsSent: session.datagramsSent,
      packetsReceived: session.datagramsReceived,
      packetsLost: 0,
      ackElicitingPacketsSent: session.datagramsSent,
      packetsRetransmitted: cb.segmentsRetransmitted,
      framesRetransmitted: cb.segmentsRetransmitted,
      spuriousRetransmissions: 0,
      messagesSent: session.messagesSent,
      messagesReceived: session.messagesReceived,
      bytesSent: session.bytesSent,
      bytesReceived: session.bytesReceived,
    };
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private advanceClock(nowUs: number): number {
    const nowMs = Math.floor(nowUs / 1000);
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    this.counters.receiveBufferedBytes = this.receiveBudget.usedBytes;
    return this.nowMs;
  }
}

/** Whether the datagram carries a PUSH with sn 0: the first segment of a conversation. */
function startsConversation(data: Uint8Array, header: ReturnType<typeof emptySegmentHeader>): boolean {
  for (let at = 0; at + SEGMENT_HEADER_BYTES <= data.length; at += SEGMENT_HEADER_BYTES + header.len) {
    readSegmentHeader(data, at, header);
    if (header.cmd === KcpCommand.push && header.sn === 0) return true;
  }
  return false;
}

export function createKcpEngine(config: Partial<KcpEngineConfig>, deps: KcpEngineDependencies): KcpEngine {
  return new KcpEndpoint(config, deps);
}
