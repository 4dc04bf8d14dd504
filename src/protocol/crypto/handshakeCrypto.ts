// The key exchange riding on INITIAL and HANDSHAKE (docs/PROTOCOL.md §9.2): the client's
// offer, the server's choice and the HANDSHAKE's tag. Both sides end with a PacketProtection.
import type { EngineCrypto } from "../api.ts";
import { PROTOCOL_VERSION, writeConnectionId } from "../wire/packet.ts";
import {
  CIPHER_AES_256_GCM,
  CIPHER_CHACHA20_POLY1305,
  clientSessionKeys,
  serverSessionKeys,
  type HandshakeTranscript,
  type SessionKeys,
} from "./keySchedule.ts";
import { AEAD_TAG_BYTES } from "./protection.ts";

export const X25519_BYTES = 32;
/** INITIAL cryptoFlags (after the token): bit 0 ChaCha20 fast, bit 1 AES-GCM fast, bit 6 an
 *  encryption offer follows (clientEphemeralPublic). 0 (the zero padding of a plaintext
 *  INITIAL) asks for plaintext. */
export const OFFER_CHACHA_FAST = 0x01;
export const OFFER_AES_FAST = 0x02;
export const OFFER_ENCRYPTED = 0x40;
/** cipher(1) e_s(32) s(32) tag(16) after the HANDSHAKE's transport parameters. */
export const HANDSHAKE_CRYPTO_BYTES = 1 + X25519_BYTES + X25519_BYTES + AEAD_TAG_BYTES;

export function cipherName(cipher: number): "aes-256-gcm" | "chacha20-poly1305" {
  return cipher === CIPHER_AES_256_GCM ? "aes-256-gcm" : "chacha20-poly1305";
}

/** AES-256-GCM when both sides run it fast, else ChaCha20-Poly1305 (§9.2). */
export function chooseCipher(clientFlags: number, serverFast: number): number {
  return (clientFlags & OFFER_AES_FAST) !== 0 && (serverFast & OFFER_AES_FAST) !== 0 ? CIPHER_AES_256_GCM : CIPHER_CHACHA20_POLY1305;
}

function idBytes(high: number, low: number): Uint8Array {
  const out = new Uint8Array(8);
  writeConnectionId(out, 0, high, low);
  return out;
}

export function transcriptOf(clientHigh: number, clientLow: number, serverHigh: number, serverLow: number, cipher: number,
    clientEphemeral: Uint8Array, serverEphemeral: Uint8Array, serverStatic: Uint8Array): HandshakeTranscript {
  return {
    version: PROTOCOL_VERSION,
    clientId: idBytes(clientHigh, clientLow),
    serverId: idBytes(serverHigh, serverLow),
    cipher,
    clientEphemeralPublic: clientEphemeral,
    serverEphemeralPublic: serverEphemeral,
    serverStaticPublic: serverStatic,
  };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** Server: a fresh ephemeral key and the session keys; null when the client's key is low-order. */
export function serverKeyAgreement(crypto: EngineCrypto, transcriptFor: (serverEphemeralPublic: Uint8Array) => HandshakeTranscript,
    ephemeralSecret: Uint8Array, staticSecret: Uint8Array): { keys: SessionKeys; ephemeralPublic: Uint8Array } | null {
  const ephemeralPublic = crypto.x25519PublicKey(ephemeralSecret);
  const transcript = transcriptFor(ephemeralPublic);
  if (crypto.x25519Shared(staticSecret, transcript.clientEphemeralPublic) === null) return null;
  const keys = serverSessionKeys(crypto, transcript, ephemeralSecret, staticSecret);
  ephemeralSecret.fill(0); // forward secrecy: e_s is gone once the keys exist
  return { keys, ephemeralPublic };
}

/** Writes cipher | e_s | s at out[p..) and the tag over out[0..p+65) (empty plaintext, nonce =
 *  iv(hs), §9.2); returns the datagram length. */
export function sealHandshake(crypto: EngineCrypto, out: Uint8Array, p: number, cipher: number, ephemeralPublic: Uint8Array,
    staticPublic: Uint8Array, keys: SessionKeys): number {
  out[p] = cipher;
  out.set(ephemeralPublic, p + 1);
  out.set(staticPublic, p + 1 + X25519_BYTES);
  const length = p + HANDSHAKE_CRYPTO_BYTES;
  crypto.seal(cipher, keys.handshakeServer.key, keys.handshakeServer.iv, out, length, length - AEAD_TAG_BYTES, 0);
  return length;
}

export type ClientHandshakeVerdict = "ok" | "low-order" | "auth-failed";

/** Client: derives the keys from the HANDSHAKE's keys and checks its tag (data[0..length)). */
export function clientKeyAgreement(crypto: EngineCrypto, transcript: HandshakeTranscript, ephemeralSecret: Uint8Array,
    data: Uint8Array, length: number): { verdict: ClientHandshakeVerdict; keys: SessionKeys | null } {
  if (crypto.x25519Shared(ephemeralSecret, transcript.serverEphemeralPublic) === null
    || crypto.x25519Shared(ephemeralSecret, transcript.serverStaticPublic) === null) return { verdict: "low-order", keys: null };
  const keys = clientSessionKeys(crypto, transcript, ephemeralSecret);
  const tagged = data.slice(0, length); // open works in place; the caller's bytes stay as they came
  const ok = crypto.open(transcript.cipher, keys.handshakeServer.key, keys.handshakeServer.iv, tagged, length, length - AEAD_TAG_BYTES, 0);
  return ok ? { verdict: "ok", keys } : { verdict: "auth-failed", keys: null };
}

export { CIPHER_AES_256_GCM, CIPHER_CHACHA20_POLY1305 };
