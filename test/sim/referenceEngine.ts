// A deliberately small go-back-N engine behind the same Engine contract, used to test the
// simulator itself: the scenarios must pass against it (SIM_ENGINE=reference), and
// referenceEngine.test.ts breaks it on purpose to show that the checks catch each kind of fault.
// It is not the project's protocol (src/protocol is): one stream for all channels (so every
// channel is delivered reliably and in order, which satisfies every mode), demultiplexing by
// address, no congestion control, no cookie.
//
// Datagram: crc32c(rest) u32 | type u8 | body.  HELLO (padded to mtu), WELCOME, REFUSE,
// DATA (seq u32, channel u8, last u8, chunk), ACK (next expected seq u32), CLOSE (reason u8, code u32), CLOSE_ACK.

import type { CloseReason, ConnectionStats, Engine, EngineConfig, EngineCounters, EngineDependencies, EngineEvent, PeerAddress, SendResult, TransmitInfo } from "../../src/protocol/api.ts";

const enum Type {
  Hello = 1,
  Welcome = 2,
  Refuse = 3,
  Data = 4,
  Ack = 5,
  Close = 6,
  CloseAck = 7,
}

const reasons: CloseReason[] = ["graceful", "aborted", "idle-timeout", "handshake-timeout", "protocol-violation", "server-shutdown", "server-full", "version-mismatch", "application"];
const windowPackets = 64;
const dataHeaderBytes = 5 + 6;
const rtoUsMin = 200_000;
const rtoUsMax = 8_000_000;
const closeAttemptsMax = 6;
const pendingRepliesMax = 256;

/** Faults to switch on in referenceEngine.test.ts (each must make some check fail). */
export interface ReferenceFaults {
  skipChecksum?: boolean;
  deliverDuplicates?: boolean;
  ignoreSendBufferLimit?: boolean;
  neverDrain?: boolean;
  /** Answer HELLO with four full-size WELCOMEs and report "connected" only once the client ACKs. */
  amplifyHandshake?: boolean;
}

export function referenceEngineConfig(role: "server" | "client"): EngineConfig {
  return {
    role,
    mtuBytes: 1200,
    maxConnections: 1024,
    maxMessageBytes: 1 << 20,
    sendBufferBytesPerConnection: 4 << 20,
    reassemblyBytesPerConnection: 2 << 20,
    reassemblyBytesTotal: 64 << 20,
    idleTimeoutUs: 10_000_000,
    keepaliveIntervalUs: 2_000_000,
    handshakeTimeoutUs: 10_000_000,
    cookieLifetimeUs: 30_000_000,
    cookieSecret: new Uint8Array(32),
    congestionControl: "newreno",
    channelModes: {},
  };
}

interface Connection {
  handle: number;
  remote: PeerAddress;
  key: string;
  state: "handshaking" | "open" | "closing";
  createdUs: number;
  lastReceivedUs: number;
  lastSentUs: number;
  // Send side: packets[0] has sequence baseSeq; packets before nextIndex have been sent.
  packets: Uint8Array[];
  sendCounts: number[];
  sentTimesUs: number[];
  baseSeq: number;
  nextIndex: number;
  bufferedBytes: number;
  waitingDrain: boolean;
  timerStartUs: number;
  backoff: number;
  rttSmoothedUs: number;
  retransmitBase: boolean;
  lastAck: number;
  duplicateAcks: number;
  // Receive side.
  expectedSeq: number;
  /** Out-of-order DATA datagrams within the window, by sequence. */
  outOfOrder: Map<number, Uint8Array>;
  chunks: Uint8Array[];
  chunkBytes: number;
  ackPending: boolean;
  helloPending: boolean;
  welcomePending: number;
  validated: boolean;
  closePending: boolean;
  closeReason: CloseReason;
  closeCode: number;
  closeAttempts: number;
  stats: ConnectionStats;
}

export function createReferenceEngine(partial: Partial<EngineConfig>, deps: EngineDependencies, faults: ReferenceFaults = {}): Engine {
  const config: EngineConfig = { ...referenceEngineConfig(partial.role ?? "client"), ...partial };
  const connections = new Map<number, Connection>();
  const byAddress = new Map<string, Connection>();
  const events: EngineEvent[] = [];
  /** Stateless replies (REFUSE, CLOSE_ACK, abortive CLOSE) owed to addresses without a connection. */
  const replies: { to: PeerAddress; type: Type; reason: number; code: number }[] = [];
  let nextHandle = 1;
  const counters: EngineCounters = {
    datagramsReceived: 0, datagramsSent: 0, bytesReceived: 0, bytesSent: 0, messagesReceived: 0, messagesSent: 0,
    packetsLost: 0, ackElicitingPacketsSent: 0, packetsRetransmitted: 0, framesRetransmitted: 0, spuriousRetransmissions: 0, handshakesCompleted: 0, handshakesFailed: {},
    connectionsOpened: 0, connectionsClosed: {}, connectionsActive: 0, drops: {}, limitRefusals: {},
    takeRttSamples: () => {},
  };
  const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);
  const keyOf = (address: PeerAddress) => `${address.host}:${address.port}`;
  const rtoUs = (c: Connection) => Math.min(rtoUsMax, Math.max(rtoUsMin, 2 * c.rttSmoothedUs + 50_000) * 2 ** c.backoff);

  function open(remote: PeerAddress, nowUs: number, state: Connection["state"]): Connection {
    const c: Connection = {
      handle: nextHandle++, remote, key: keyOf(remote), state, createdUs: nowUs, lastReceivedUs: nowUs, lastSentUs: nowUs,
      packets: [], sendCounts: [], sentTimesUs: [], baseSeq: 0, nextIndex: 0, bufferedBytes: 0, waitingDrain: false,
      timerStartUs: nowUs, backoff: 0, rttSmoothedUs: 100_000, retransmitBase: false, lastAck: 0, duplicateAcks: 0, expectedSeq: 0, outOfOrder: new Map(), chunks: [], chunkBytes: 0, ackPending: false,
      helloPending: state === "handshaking", welcomePending: 0, validated: false, closePending: false, closeReason: "graceful", closeCode: 0, closeAttempts: 0,
      stats: { remote, rttSmoothedUs: 0, rttVarianceUs: 0, rttMinUs: 0, latestRttUs: 0, congestionWindowBytes: windowPackets * config.mtuBytes, bytesInFlight: 0,
        packetsSent: 0, ackElicitingPacketsSent: 0, packetsReceived: 0, packetsLost: 0, packetsRetransmitted: 0, framesRetransmitted: 0, spuriousRetransmissions: 0, messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0 },
    };
    connections.set(c.handle, c);
    byAddress.set(c.key, c);
    counters.connectionsActive++;
    counters.connectionsOpened++;
    return c;
  }

  function finish(c: Connection, reason: CloseReason, code: number): void {
    connections.delete(c.handle);
    if (byAddress.get(c.key) === c) byAddress.delete(c.key);
    counters.connectionsActive--;
    count(counters.connectionsClosed, reason);
    events.push({ type: "closed", connection: c.handle, reason, closeCode: code, message: "" });
  }

  function validate(c: Connection): void {
    c.validated = true;
    counters.handshakesCompleted++;
    events.push({ type: "connected", connection: c.handle, remote: c.remote });
  }

  function reply(to: PeerAddress, type: Type, reason = 0, code = 0): void {
    if (replies.length >= pendingRepliesMax) return void count(counters.limitRefusals, "pending-replies");
    replies.push({ to, type, reason, code });
  }

  function onAck(c: Connection, nowUs: number, nextExpected: number): void {
    const acked = Math.min(nextExpected - c.baseSeq, c.nextIndex);
    if (acked <= 0) {
      // Three duplicate ACKs: the base packet was lost; resend it without waiting for the timer.
      if (nextExpected === c.lastAck && c.nextIndex > 0 && ++c.duplicateAcks === 3) c.retransmitBase = true;
      return;
    }
    c.lastAck = nextExpected;
    c.duplicateAcks = 0;
    c.retransmitBase = false;
    if (c.backoff === 0 && c.sendCounts[acked - 1] === 1) {
      const sampleUs = nowUs - c.sentTimesUs[acked - 1]!;
      c.rttSmoothedUs = Math.round((7 * c.rttSmoothedUs + sampleUs) / 8);
    }
    for (let i = 0; i < acked; i++) c.bufferedBytes -= c.packets[i]!.length - 2;
    c.packets.splice(0, acked);
    c.sendCounts.splice(0, acked);
    c.sentTimesUs.splice(0, acked);
    c.baseSeq += acked;
    c.nextIndex -= acked;
    c.backoff = 0;
    c.timerStartUs = nowUs;
    if (c.waitingDrain && !faults.neverDrain && c.bufferedBytes <= config.sendBufferBytesPerConnection / 2) {
      c.waitingDrain = false;
      events.push({ type: "drain", connection: c.handle });
    }
    if (c.state === "closing" && c.packets.length === 0 && !c.closePending && c.closeAttempts === 0) startClose(c, nowUs);
  }

  function startClose(c: Connection, nowUs: number): void {
    c.closePending = true;
    c.timerStartUs = nowUs;
  }

  function onData(c: Connection, body: DataView, data: Uint8Array): void {
    const seq = body.getUint32(5);
    c.ackPending = true;
    if (faults.deliverDuplicates && seq === c.expectedSeq - 1 && data[10] === 1) return consume(c, data);
    if (seq > c.expectedSeq && seq < c.expectedSeq + 2 * windowPackets) c.outOfOrder.set(seq, data.slice());
    if (seq !== c.expectedSeq) return;
    consume(c, data);
    c.expectedSeq++;
    for (let next = c.outOfOrder.get(c.expectedSeq); next !== undefined; next = c.outOfOrder.get(c.expectedSeq)) {
      c.outOfOrder.delete(c.expectedSeq);
      consume(c, next);
      c.expectedSeq++;
    }
  }

  function consume(c: Connection, data: Uint8Array): void {
    const chunk = data.slice(dataHeaderBytes);
    if (c.chunkBytes + chunk.length > config.maxMessageBytes) return void count(counters.drops, "limit");
    c.chunks.push(chunk);
    c.chunkBytes += chunk.length;
    if (data[10] !== 1) return;
    const message = new Uint8Array(c.chunkBytes);
    let offset = 0;
    for (const piece of c.chunks) {
      message.set(piece, offset);
      offset += piece.length;
    }
    c.chunks = [];
    c.chunkBytes = 0;
    counters.messagesReceived++;
    events.push({ type: "message", connection: c.handle, channel: data[9]!, data: message });
  }

  function handleDatagram(nowUs: number, data: Uint8Array, from: PeerAddress): void {
    counters.datagramsReceived++;
    counters.bytesReceived += data.length;
    if (data.length < 5) return void count(counters.drops, "truncated");
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (!faults.skipChecksum && view.getUint32(0) !== deps.crc32c(data.subarray(4)) >>> 0) return void count(counters.drops, "checksum");
    const type = data[4]!;
    let c = byAddress.get(keyOf(from));
    if (type === Type.Hello && config.role === "server") {
      if (data.length < config.mtuBytes) return void count(counters.drops, "malformed");
      if (c === undefined) {
        if (counters.connectionsActive >= config.maxConnections) return reply(from, Type.Refuse, reasons.indexOf("server-full"));
        c = open(from, nowUs, "open");
        if (!faults.amplifyHandshake) validate(c);
      }
      c.welcomePending = faults.amplifyHandshake ? 4 : 1;
      c.lastReceivedUs = nowUs;
      return;
    }
    if (type === Type.Close) {
      if (data.length < 10) return void count(counters.drops, "truncated");
      reply(from, Type.CloseAck);
      if (c !== undefined) finish(c, reasons[data[5]!] ?? "protocol-violation", view.getUint32(6));
      return;
    }
    if (c === undefined) return void count(counters.drops, "unknown-connection");
    c.lastReceivedUs = nowUs;
    c.stats.packetsReceived++;
    if (!c.validated && config.role === "server") validate(c);
    if (type === Type.Welcome && c.state === "handshaking") {
      c.state = "open";
      c.helloPending = false;
      if (c.backoff === 0) c.rttSmoothedUs = nowUs - c.createdUs;
      c.backoff = 0;
      counters.handshakesCompleted++;
      events.push({ type: "connected", connection: c.handle, remote: c.remote });
    } else if (type === Type.Refuse && c.state === "handshaking") {
      finish(c, reasons[data[5] ?? 0] ?? "server-full", 0);
    } else if (type === Type.Ack && data.length >= 9) {
      onAck(c, nowUs, view.getUint32(5));
    } else if (type === Type.Data && data.length > dataHeaderBytes - 1 && c.state !== "handshaking") {
      onData(c, view, data);
    } else if (type === Type.CloseAck && c.closeAttempts > 0) {
      finish(c, c.closeReason, c.closeCode);
    }
  }

  function write(out: Uint8Array, info: TransmitInfo, to: PeerAddress, length: number): true {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    view.setUint32(0, deps.crc32c(out.subarray(4, length)) >>> 0);
    info.length = length;
    info.to = to;
    counters.datagramsSent++;
    counters.bytesSent += length;
    return true;
  }

  function transmitFor(c: Connection, nowUs: number, out: Uint8Array, info: TransmitInfo): boolean {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (c.helloPending) {
      c.helloPending = false;
      out.fill(0, 0, config.mtuBytes);
      out[4] = Type.Hello;
      return write(out, info, c.remote, config.mtuBytes);
    }
    if (c.welcomePending > 0) {
      c.welcomePending--;
      out[4] = Type.Welcome;
      if (!faults.amplifyHandshake) return write(out, info, c.remote, 5);
      out.fill(0, 5, config.mtuBytes);
      return write(out, info, c.remote, config.mtuBytes);
    }
    if (c.ackPending) {
      c.ackPending = false;
      out[4] = Type.Ack;
      view.setUint32(5, c.expectedSeq);
      return write(out, info, c.remote, 9);
    }
    const resend = c.retransmitBase && c.nextIndex > 0;
    if (resend || (c.state !== "handshaking" && c.nextIndex < c.packets.length && c.nextIndex < windowPackets)) {
      const index = resend ? 0 : c.nextIndex++;
      c.retransmitBase = false;
      const packet = c.packets[index]!;
      if (index === 0) c.timerStartUs = nowUs;
      c.sendCounts[index]!++;
      if (c.sendCounts[index]! > 1) {
        counters.packetsRetransmitted++; // one message per packet here: packets and frames agree
        counters.framesRetransmitted++;
      }
      counters.ackElicitingPacketsSent++;
      c.sentTimesUs[index] = nowUs;
      out[4] = Type.Data;
      view.setUint32(5, c.baseSeq + index);
      out.set(packet, 9);
      return write(out, info, c.remote, 9 + packet.length);
    }
    if (c.closePending) {
      c.closePending = false;
      c.closeAttempts++;
      c.timerStartUs = nowUs;
      out[4] = Type.Close;
      out[5] = reasons.indexOf(c.closeReason);
      view.setUint32(6, c.closeCode);
      return write(out, info, c.remote, 10);
    }
    return false;
  }

  function connectionDeadline(c: Connection): number {
    let deadline = c.lastReceivedUs + (c.state === "handshaking" ? config.handshakeTimeoutUs : config.idleTimeoutUs);
    if (c.state === "handshaking" || c.nextIndex > 0 || c.closeAttempts > 0) deadline = Math.min(deadline, c.timerStartUs + rtoUs(c));
    if (c.state === "open") deadline = Math.min(deadline, c.lastSentUs + config.keepaliveIntervalUs);
    return deadline;
  }

  const engine: Engine = {
    counters,
    handleDatagram(nowUs, data, from) {
      try {
        handleDatagram(nowUs, data, from);
      } catch {
        count(counters.drops, "malformed");
      }
    },
    handleTimeout(nowUs) {
      for (const c of [...connections.values()]) {
        if (nowUs >= c.lastReceivedUs + (c.state === "handshaking" ? config.handshakeTimeoutUs : config.idleTimeoutUs)) {
          if (c.state === "handshaking") count(counters.handshakesFailed, "handshake-timeout");
          finish(c, c.state === "handshaking" ? "handshake-timeout" : "idle-timeout", 0);
          continue;
        }
        if ((c.state === "handshaking" || c.nextIndex > 0 || c.closeAttempts > 0) && nowUs >= c.timerStartUs + rtoUs(c)) {
          c.backoff++;
          c.timerStartUs = nowUs;
          if (c.state === "handshaking") c.helloPending = true;
          else if (c.closeAttempts > 0) {
            if (c.closeAttempts >= closeAttemptsMax) finish(c, c.closeReason, c.closeCode);
            else c.closePending = true;
          } else {
            counters.packetsLost++;
            c.retransmitBase = true;
          }
        }
        if (c.state === "open" && nowUs >= c.lastSentUs + config.keepaliveIntervalUs) c.ackPending = true;
      }
    },
    pollTransmit(nowUs, out, info) {
      if (replies.length > 0) {
        const r = replies.shift()!;
        out[4] = r.type;
        out[5] = r.reason;
        new DataView(out.buffer, out.byteOffset).setUint32(6, r.code);
        return write(out, info, r.to, r.type === Type.CloseAck ? 5 : 10);
      }
      for (const c of connections.values()) {
        if (transmitFor(c, nowUs, out, info)) {
          c.lastSentUs = nowUs;
          return true;
        }
      }
      return false;
    },
    pollTimeout() {
      let deadline = Infinity;
      for (const c of connections.values()) deadline = Math.min(deadline, connectionDeadline(c));
      return deadline;
    },
    pollEvent() {
      return events.shift() ?? null;
    },
    connect(nowUs, to) {
      return open(to, nowUs, "handshaking").handle;
    },
    send(handle, channel, data): SendResult {
      const c = connections.get(handle);
      if (c === undefined || c.state === "closing") return "closed";
      if (data.length > config.maxMessageBytes) return "too-large";
      if (!faults.ignoreSendBufferLimit && c.bufferedBytes + data.length > config.sendBufferBytesPerConnection) {
        c.waitingDrain = true;
        count(counters.limitRefusals, "send-buffer");
        return "buffer-full";
      }
      const chunkMax = config.mtuBytes - dataHeaderBytes;
      for (let offset = 0; offset < data.length || offset === 0; offset += chunkMax) {
        const chunk = data.subarray(offset, Math.min(data.length, offset + chunkMax));
        const packet = new Uint8Array(2 + chunk.length);
        packet[0] = channel;
        packet[1] = offset + chunkMax >= data.length ? 1 : 0;
        packet.set(chunk, 2);
        c.packets.push(packet);
        c.sendCounts.push(0);
        c.sentTimesUs.push(0);
        c.bufferedBytes += chunk.length;
        if (data.length === 0) break;
      }
      counters.messagesSent++;
      return "queued";
    },
    close(handle, reason, graceful, closeCode = 0) {
      const c = connections.get(handle);
      if (c === undefined) return;
      c.closeReason = reason;
      c.closeCode = closeCode;
      if (!graceful) {
        reply(c.remote, Type.Close, reasons.indexOf(reason), closeCode);
        finish(c, reason, closeCode);
        return;
      }
      c.state = "closing";
      if (c.packets.length === 0) startClose(c, c.lastSentUs);
    },
    bufferedBytes(handle) {
      return connections.get(handle)?.bufferedBytes ?? 0;
    },
    connectionStats(handle) {
      return connections.get(handle)?.stats ?? null;
    },
  };
  return engine;
}
