// Engine configuration: defaults and the checks that keep limits consistent with each other.
import type { EngineConfig, EngineDependencies } from "./api.ts";
import { INITIAL_MIN_BYTES } from "./wire/packet.ts";

const MIB = 1024 * 1024;

export function defaultEngineConfig(role: "server" | "client"): EngineConfig {
  return {
    role,
    mtuBytes: 1200,
    maxConnections: role === "server" ? 10_000 : 64,
    maxMessageBytes: MIB,
    sendBufferBytesPerConnection: 4 * MIB,
    reassemblyBytesPerConnection: 4 * MIB,
    reassemblyBytesTotal: 256 * MIB,
    idleTimeoutUs: 30_000_000,
    keepaliveIntervalUs: 5_000_000,
    handshakeTimeoutUs: 10_000_000,
    cookieLifetimeUs: 10_000_000,
    cookieSecret: new Uint8Array(0),
    congestionControl: "cubic",
    channelModes: {},
  };
}

/** The configuration after defaults and the optional protocol-only knobs are filled in. */
export interface ResolvedConfig extends EngineConfig {
  receiveWindowBytes: number;
  sendBufferBytesPerChannel: number;
  maxAckDelayUs: number;
  verifyChecksum: boolean;
  /** Pending event bytes (messages not yet taken by pollEvent) across all connections. */
  eventBytesMax: number;
  eventsMax: number;
  messagesQueuedMaxPerConnection: number;
  strictInvariants: boolean;
  progressTimeoutUs: number;
  memoryBudgetBytes: number;
  memoryBudgetGraceUs: number;
  encryption: boolean;
  keyUpdatePackets: number;
}

/** RFC 9001 §6.6's confidentiality limit for AES-GCM, also used for ChaCha20 (§9.6). */
export const KEY_UPDATE_PACKETS_DEFAULT = 2 ** 23;
/** Fewer would update on nearly every packet. */
export const KEY_UPDATE_PACKETS_MIN = 16;

export function resolveConfig(partial: Partial<EngineConfig>, deps: EngineDependencies): ResolvedConfig {
  const base = { ...defaultEngineConfig(partial.role ?? "server"), ...partial };
  const extra = partial as Partial<ResolvedConfig>;
  const mtuBytes = Math.max(INITIAL_MIN_BYTES, Math.min(65_000, Math.floor(base.mtuBytes)));
  const maxMessageBytes = Math.max(1, base.maxMessageBytes);
  let cookieSecret = base.cookieSecret;
  if (cookieSecret.length < 16) {
    cookieSecret = new Uint8Array(32);
    deps.randomBytes(cookieSecret);
  }
  // A window smaller than the largest message could never let that message complete.
  const receiveWindowBytes = Math.max(extra.receiveWindowBytes ?? 4 * MIB, 2 * maxMessageBytes);
  const sendBufferBytesPerConnection = Math.max(base.sendBufferBytesPerConnection, maxMessageBytes);
  return {
    ...base,
    mtuBytes,
    maxMessageBytes,
    cookieSecret,
    sendBufferBytesPerConnection,
    reassemblyBytesPerConnection: Math.max(base.reassemblyBytesPerConnection, maxMessageBytes),
    reassemblyBytesTotal: Math.max(base.reassemblyBytesTotal, maxMessageBytes),
    receiveWindowBytes,
    sendBufferBytesPerChannel: Math.max(extra.sendBufferBytesPerChannel ?? sendBufferBytesPerConnection, maxMessageBytes),
    maxAckDelayUs: extra.maxAckDelayUs ?? 2_000,
    verifyChecksum: extra.verifyChecksum ?? true,
    eventBytesMax: extra.eventBytesMax ?? 64 * MIB,
    eventsMax: extra.eventsMax ?? 1 << 20,
    messagesQueuedMaxPerConnection: extra.messagesQueuedMaxPerConnection ?? 1 << 16,
    strictInvariants: extra.strictInvariants ?? false,
    progressTimeoutUs: extra.progressTimeoutUs ?? 30_000_000,
    // A server's default: 10,000 connections could otherwise hold ~40 GB of send buffers alone.
    memoryBudgetBytes: Math.max(base.memoryBudgetBytes ?? (base.role === "server" ? 1024 * MIB : Infinity), 2 * maxMessageBytes),
    memoryBudgetGraceUs: base.memoryBudgetGraceUs ?? 5_000_000,
    encryption: extra.encryption ?? false,
    keyUpdatePackets: Math.max(KEY_UPDATE_PACKETS_MIN, Math.min(KEY_UPDATE_PACKETS_DEFAULT, Math.floor(extra.keyUpdatePackets ?? KEY_UPDATE_PACKETS_DEFAULT))),
  };
}
