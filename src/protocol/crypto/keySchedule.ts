// The key schedule of docs/PROTOCOL.md §9: from the handshake's X25519 keys to one packet
// key per direction, and the key update chain. Sans-IO: the primitives come in as a
// `KeyScheduleCrypto` (the runtime passes src/native's AEAD backend, as it passes the checksum).

/** What the key schedule needs from a crypto backend (src/native/aead.ts provides it). */
export interface KeyScheduleCrypto {
  /** null for a low-order peer key (all-zero shared secret). */
  x25519Shared(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array | null;
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

/** Cipher ids on the wire (INITIAL's offer bits, HANDSHAKE's choice). */
export const CIPHER_CHACHA20_POLY1305 = 0;
export const CIPHER_AES_256_GCM = 1;

/** Everything both sides know once the HANDSHAKE is read: the transcript's inputs. */
export interface HandshakeTranscript {
  version: number;
  clientId: Uint8Array; // 8 bytes
  serverId: Uint8Array; // 8 bytes
  cipher: number;
  clientEphemeralPublic: Uint8Array; // 32
  serverEphemeralPublic: Uint8Array; // 32
  serverStaticPublic: Uint8Array; // 32
}

export interface PacketKey {
  key: Uint8Array; // 32
  iv: Uint8Array; // 12
}

/** One direction's traffic secret and the packet key derived from it; phase counts key updates. */
export interface DirectionKeys extends PacketKey {
  secret: Uint8Array;
  phase: number;
}

export interface SessionKeys {
  transcriptHash: Uint8Array;
  /** Seals the server's HANDSHAKE (its tag proves the server holds the static key). */
  handshakeServer: PacketKey;
  clientToServer: DirectionKeys;
  serverToClient: DirectionKeys;
}

const encoder = new TextEncoder();
const label = (text: string) => encoder.encode(`rudp/1 ${text}`);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** HMAC-SHA256 keyed by a fixed label over the transcript fields, in order (§9.2). */
export function transcriptHash(crypto: KeyScheduleCrypto, transcript: HandshakeTranscript): Uint8Array {
  const version = new Uint8Array(4);
  new DataView(version.buffer).setUint32(0, transcript.version);
  const fields = [
    version,
    transcript.clientId,
    transcript.serverId,
    Uint8Array.of(transcript.cipher),
    transcript.clientEphemeralPublic,
    transcript.serverEphemeralPublic,
    transcript.serverStaticPublic,
  ];
  return crypto.hkdfExtract(label("transcript"), concat(fields));
}

/** The packet key of a traffic secret. */
export function packetKeyOf(crypto: KeyScheduleCrypto, secret: Uint8Array): PacketKey {
  return { key: crypto.hkdfExpand(secret, label("key"), 32), iv: crypto.hkdfExpand(secret, label("iv"), 12) };
}

function directionKeys(crypto: KeyScheduleCrypto, secret: Uint8Array, phase: number): DirectionKeys {
  return { secret, phase, ...packetKeyOf(crypto, secret) };
}

/** Key update (§9.6): the next phase's secret is derived from this one; the old one is then erased. */
export function nextPhase(crypto: KeyScheduleCrypto, current: DirectionKeys): DirectionKeys {
  return directionKeys(crypto, crypto.hkdfExpand(current.secret, label("ku"), 32), current.phase + 1);
}

function derive(crypto: KeyScheduleCrypto, transcript: HandshakeTranscript, ephemeralShared: Uint8Array, staticShared: Uint8Array): SessionKeys {
  const hash = transcriptHash(crypto, transcript);
  const prk = crypto.hkdfExtract(hash, concat([ephemeralShared, staticShared]));
  const handshakeSecret = crypto.hkdfExpand(prk, label("hs s2c"), 32);
  return {
    transcriptHash: hash,
    handshakeServer: packetKeyOf(crypto, handshakeSecret),
    clientToServer: directionKeys(crypto, crypto.hkdfExpand(prk, label("c2s"), 32), 0),
    serverToClient: directionKeys(crypto, crypto.hkdfExpand(prk, label("s2c"), 32), 0),
  };
}

/** Why key agreement failed: a low-order key from the peer (an attack or a broken peer). */
export class KeyAgreementError extends Error {}

/** Client side: its ephemeral secret, and the server's ephemeral and static public keys. */
export function clientSessionKeys(crypto: KeyScheduleCrypto, transcript: HandshakeTranscript, clientEphemeralSecret: Uint8Array): SessionKeys {
  const ephemeral = crypto.x25519Shared(clientEphemeralSecret, transcript.serverEphemeralPublic);
  const fixed = crypto.x25519Shared(clientEphemeralSecret, transcript.serverStaticPublic);
  if (!ephemeral || !fixed) throw new KeyAgreementError("key agreement: the server sent a low-order X25519 key");
  return derive(crypto, transcript, ephemeral, fixed);
}

/** Server side: its ephemeral and static secrets, and the client's ephemeral public key. */
export function serverSessionKeys(crypto: KeyScheduleCrypto, transcript: HandshakeTranscript, serverEphemeralSecret: Uint8Array, serverStaticSecret: Uint8Array): SessionKeys {
  const ephemeral = crypto.x25519Shared(serverEphemeralSecret, transcript.clientEphemeralPublic);
  const fixed = crypto.x25519Shared(serverStaticSecret, transcript.clientEphemeralPublic);
  if (!ephemeral || !fixed) throw new KeyAgreementError("key agreement: the client sent a low-order X25519 key");
  return derive(crypto, transcript, ephemeral, fixed);
}
