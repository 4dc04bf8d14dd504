// The public face of the sans-IO protocol engine: what the transport and runtime layers
// (src/transport, src/server, src/client) may rely on. The engine reads no clock, opens no
// socket and arms no timer: time comes in as `nowUs`, datagrams come in and go out
// through caller-owned buffers. Times are microseconds on any monotonic clock.

/** Where a datagram came from or goes to. The transport interns these (one object per
 *  address), so the engine may compare with `sameAddress`, which tries identity first. */
export interface PeerAddress {
  readonly family: 4 | 6;
  readonly host: string;
  readonly port: number;
}

export function sameAddress(a: PeerAddress, b: PeerAddress): boolean {
  return a === b || (a.port === b.port && a.host === b.host);
}

/** CRC32C (Castagnoli) of `data`, starting from 0: `crc32c("123456789") === 0xe3069283`. */
export type Crc32c = (data: Uint8Array) => number;

export type DeliveryMode = "reliable-ordered" | "reliable-unordered" | "unreliable" | "unreliable-sequenced";

export type CongestionControlName = "newreno" | "cubic" | "adaptive" | "bbr";

/** Why a connection ended; carried on the wire in CLOSE frames (docs/PROTOCOL.md). */
export type CloseReason =
  | "graceful" // the peer or the application closed after draining
  | "aborted" // the application closed without draining
  | "idle-timeout" // nothing heard for idleTimeoutUs: dead peer
  | "handshake-timeout"
  | "protocol-violation" // e.g. an ACK for a packet never sent
  | "server-shutdown"
  | "server-full" // max connections reached
  | "version-mismatch"
  | "application" // an application-defined code, see `closeCode`
  | "internal-error" // the engine found its own state inconsistent (a bug): see invariant.ts
  | "stalled" // data waited progressTimeoutUs while the peer acknowledged nothing new (or kept its window at 0)
  | "memory-budget" // the endpoint stayed over memoryBudgetBytes and this connection held among the most
  | "encryption-required" // REJECT: the server speaks only encrypted sessions, the client asked for plaintext
  | "encryption-unsupported" // REJECT: the server runs plaintext (encryption: false), the client offered encryption
  | "server-key-mismatch"; // client: the server's static key is not the pinned serverPublicKey (PROTOCOL.md §9.2)

export interface EngineConfig {
  role: "server" | "client";
  /** Largest UDP payload the engine emits. Default 1200. */
  mtuBytes: number;
  maxConnections: number;
  maxMessageBytes: number; // default 1 MiB
  sendBufferBytesPerConnection: number;
  reassemblyBytesPerConnection: number;
  reassemblyBytesTotal: number;
  idleTimeoutUs: number;
  keepaliveIntervalUs: number;
  handshakeTimeoutUs: number;
  cookieLifetimeUs: number;
  /** Secret for the stateless cookie MAC (server). At least 16 bytes. */
  cookieSecret: Uint8Array;
  congestionControl: CongestionControlName;
  /** Delivery mode of each channel, by channel number (0..255); unlisted channels are reliable-ordered. */
  channelModes: Partial<Record<number, DeliveryMode>>;
  // Optional protocol knobs (defaults in src/protocol/config.ts):
  /** Reliable bytes the peer may send beyond what the application consumed. Default 4 MiB, at least 2x maxMessageBytes. */
  receiveWindowBytes?: number;
  /** Send-buffer limit of one channel. Default: sendBufferBytesPerConnection. */
  sendBufferBytesPerChannel?: number;
  /** Longest an ACK for a lone ack-eliciting packet is delayed. Default 2000 us. */
  maxAckDelayUs?: number;
  /** false when the transport already checked the CRC32C trailer (native receive thread). Default true. */
  verifyChecksum?: boolean;
  /** Bytes of delivered messages waiting in pollEvent across all connections. Default 64 MiB. */
  eventBytesMax?: number;
  /** Events waiting in pollEvent. Default 2^20. */
  eventsMax?: number;
  /** Messages queued for sending per connection. Default 2^16. */
  messagesQueuedMaxPerConnection?: number;
  /** true (tests, simulator): a broken engine invariant or a fractional `nowUs` throws to the
   *  caller, and so does any other bug the engine would otherwise count as an "internal-error"
   *  drop. false (default, production): the connection concerned is closed with
   *  "internal-error" and counters.invariantViolations counts it. See src/protocol/invariant.ts. */
  strictInvariants?: boolean;
  /** A connection with data waiting whose peer acknowledges none of it (never ACKs, or keeps
   *  its window at 0) for this long is closed as "stalled". Default 30 s. */
  progressTimeoutUs?: number;
  /** Endpoint-wide bytes held for peers (send queues, reassembly, undelivered events, what the
   *  application reports with setApplicationHeldBytes). Over it send() returns "buffer-full";
   *  over it for memoryBudgetGraceUs the biggest holders close as "memory-budget".
   *  Default: 1 GiB on a server, unlimited on a client. docs/LIMITS.md. */
  memoryBudgetBytes?: number;
  /** How long the total may stay over the budget before connections are closed. Default 5 s. */
  memoryBudgetGraceUs?: number;
  // Encryption (docs/PROTOCOL.md §9). The engine is plaintext unless asked; the runtime
  // (src/server, src/client) asks by default. Needs EngineDependencies.crypto.
  /** true: X25519 key exchange in INITIAL/HANDSHAKE and AEAD-protected DATA. Default false here. */
  encryption?: boolean;
  /** Server: its static X25519 secret (32 bytes). Default: a fresh one from randomBytes. */
  staticSecretKey?: Uint8Array;
  /** Client: the server's pinned static public key (32 bytes); absent = unauthenticated. */
  serverPublicKey?: Uint8Array;
  /** Packets sent in one key phase before a key update (§9.6). Default 2^23, at least 16. */
  keyUpdatePackets?: number;
}

/** The primitives packet protection needs (src/native/aead.ts engineCrypto provides them). */
export interface EngineCrypto {
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /** null for a low-order peer key (all-zero shared secret). */
  x25519Shared(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array | null;
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** Seals buffer[0..length) in place: [0, headerLength) is the associated data, the last 16
   *  bytes receive the tag; nonce = iv xor packetNumber (32-bit). cipher: 0 ChaCha20-Poly1305, 1 AES-256-GCM. */
  seal(cipher: number, key: Uint8Array, iv: Uint8Array, buffer: Uint8Array, length: number, headerLength: number, packetNumber: number): boolean;
  /** Opens in place; false (and the ciphertext left as it was) when the tag does not verify. */
  open(cipher: number, key: Uint8Array, iv: Uint8Array, buffer: Uint8Array, length: number, headerLength: number, packetNumber: number): boolean;
  /** Bit 0: this machine runs ChaCha20-Poly1305 fast; bit 1: AES-256-GCM (AES-NI). */
  readonly fastCiphers: number;
}

/** What the engine needs from outside; passed in so tests can make it deterministic. */
export interface EngineDependencies {
  crc32c: Crc32c;
  /** Fills `out` with random bytes (connection IDs, packet-number skips). */
  randomBytes: (out: Uint8Array) => void;
  /** Optional: CRC32C of data[0..length) without making a view (e.g. the native
   *  rudp_crc32c(0, data, length)); saves an allocation per datagram on the hot path. */
  crc32cPrefix?: (data: Uint8Array, length: number) => number;
  /** Optional: HMAC-SHA256(key, message) for the RETRY cookie (default node:crypto). */
  hmacSha256?: (key: Uint8Array, message: Uint8Array) => Uint8Array;
  /** Required when config.encryption is true: AEAD, X25519 and HKDF (sans-IO: passed in). */
  crypto?: EngineCrypto;
}

export type SendResult =
  | "queued" // accepted; the engine owns a copy
  | "buffer-full" // send buffer full: wait for a "drain" event, nothing was queued
  | "too-large" // larger than maxMessageBytes
  | "closed"; // the connection is closing or closed

/** Events come out of `pollEvent()`. The returned object may be reused by the next call:
 *  copy what you keep. `data` is valid until the next call into the engine. In this engine
 *  the message event's `data` is a getter (it makes a view on first read), so read it or
 *  destructure it; do not spread the event object. */
export type EngineEvent =
  | { type: "connected"; connection: number; remote: PeerAddress }
  | {
      type: "message";
      connection: number;
      channel: number;
      data: Uint8Array;
      /** Zero-allocation access to the same bytes: data equals buffer.subarray(offset, offset + length).
       *  Set by this engine; `data` is then made only when read. */
      buffer?: Uint8Array;
      offset?: number;
      length?: number;
    }
  | { type: "drain"; connection: number }
  | { type: "closed"; connection: number; reason: CloseReason; closeCode: number; message: string };

/** Filled by `pollTransmit`: where the datagram it just wrote goes. */
export interface TransmitInfo {
  length: number;
  to: PeerAddress | null;
}

/** The engine. One per socket: it demultiplexes by connection ID and answers handshakes. */
export interface Engine {
  /** Never throws on network input; bad datagrams are counted in `drops` by reason.
   *  `data` may be reused by the caller after return: the engine copies what it keeps. */
  handleDatagram(nowUs: number, data: Uint8Array, from: PeerAddress): void;
  /** Safe to call spuriously. */
  handleTimeout(nowUs: number): void;
  /** Writes the next datagram into `out` (at least mtuBytes long); returns false when none is due. */
  pollTransmit(nowUs: number, out: Uint8Array, info: TransmitInfo): boolean;
  /** The next deadline in microseconds, or Infinity when nothing is scheduled. */
  pollTimeout(): number;
  pollEvent(): EngineEvent | null;

  /** Client: start a handshake; returns the connection handle. */
  connect(nowUs: number, to: PeerAddress, options?: { congestionControl?: CongestionControlName }): number;
  send(connection: number, channel: number, data: Uint8Array): SendResult;
  /** graceful: drain then close; otherwise abortive. */
  close(connection: number, reason: CloseReason, graceful: boolean, closeCode?: number): void;
  /** Queued (unsent or unacknowledged) bytes: for backpressure decisions. */
  bufferedBytes(connection: number): number;
  connectionStats(connection: number): ConnectionStats | null;
  /** The application holds `bytes` on behalf of this connection (a backlog of replies, say):
   *  counted in the memory budget and in choosing whom to close. Replaces the last value. */
  setApplicationHeldBytes?(connection: number, bytes: number): void;
  /** Engine-wide counters; monotonically increasing except gauges. */
  readonly counters: EngineCounters;
}

export interface ConnectionStats {
  remote: PeerAddress;
  rttSmoothedUs: number;
  rttVarianceUs: number;
  rttMinUs: number;
  latestRttUs: number;
  congestionWindowBytes: number;
  /** Which controller runs this connection (set by this engine). */
  congestionControl?: CongestionControlName;
  bytesInFlight: number;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  /** Packets sent that ask for an ACK (packetsSent less ACK-only packets). */
  ackElicitingPacketsSent: number;
  /** Packets that carried at least one retransmitted frame. */
  packetsRetransmitted: number;
  /** Message frames (fragments) retransmitted; a packet may carry several. */
  framesRetransmitted: number;
  spuriousRetransmissions: number;
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** "authenticated" (pinned server key checked), "unauthenticated" (encrypted, no pin: the
   *  client cannot tell a man in the middle), "encrypted" (server side: encrypted, clients are
   *  anonymous as in TLS without client certificates), "plaintext". */
  security?: "authenticated" | "unauthenticated" | "encrypted" | "plaintext";
  cipher?: "aes-256-gcm" | "chacha20-poly1305" | "none";
  /** Key updates this connection made (send side) and followed (receive side). */
  keyUpdatesSent?: number;
  keyUpdatesReceived?: number;
}

export interface EngineCounters {
  datagramsReceived: number;
  datagramsSent: number;
  bytesReceived: number;
  bytesSent: number;
  messagesReceived: number;
  messagesSent: number;
  packetsLost: number;
  /** Ack-eliciting packets sent: the denominator of loss and retransmission ratios. */
  ackElicitingPacketsSent: number;
  /** Packets that carried at least one retransmitted frame. */
  packetsRetransmitted: number;
  /** Message frames retransmitted (a packet may carry several). */
  framesRetransmitted: number;
  spuriousRetransmissions: number;
  handshakesCompleted: number;
  handshakesFailed: Record<string, number>; // by reason
  connectionsOpened: number;
  connectionsClosed: Record<string, number>; // by CloseReason
  connectionsActive: number;
  /** Datagrams dropped, by reason: "checksum", "malformed", "truncated", "version",
   *  "unknown-connection", "bad-cookie", "expired-cookie", "limit", "out-of-window", ... */
  drops: Record<string, number>;
  /** Sends or resources turned away by a limit, by limit name. */
  limitRefusals: Record<string, number>;
  /** Broken engine invariants (each closed one connection with "internal-error") and
   *  fractional clock values floored (strictInvariants false only). */
  invariantViolations?: number;
  /** Bytes held for peers now, as the memory budget counts them (memoryBudgetBytes). */
  memoryHeldBytes?: number;
  /** Bytes received from / sent to addresses not yet validated by a cookie (sent <= 3x received). */
  unvalidatedBytesReceived?: number;
  unvalidatedBytesSent?: number;
  /** Encryption (§9): DATA packets whose tag did not verify, authentic packets seen before
   *  (replay window), HANDSHAKEs whose tag did not verify, key updates sent and followed.
   *  Each also counts in drops ("decrypt-failed", "replayed", "handshake-auth-failed"). */
  packetsDecryptFailed?: number;
  packetsReplayed?: number;
  handshakeAuthFailed?: number;
  keyUpdates?: number;
  /** RTT samples (us) since the last call; the metrics layer drains this into a histogram. */
  takeRttSamples(sink: (rttUs: number) => void): void;
}
