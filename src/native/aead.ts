// Packet protection and key agreement (docs/PROTOCOL.md §9): two backends with one
// interface. The native one is zig/src/aead.zig through bun:ffi (a GSO run or receive batch
// per call); the TypeScript one runs on node:crypto, so everything works without the library.
// A protected packet is `header | ciphertext | tag(16)` in place: the header is the
// associated data, the nonce is the 12-byte IV xor the packet number (right-aligned, BE).
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import { chacha20Poly1305Open, chacha20Poly1305Seal } from "./chacha20poly1305.ts";
import { native } from "./load.ts";

export type CipherName = "chacha20-poly1305" | "aes-256-gcm";
export const AEAD_TAG_BYTES = 16;
export const AEAD_KEY_BYTES = 32;
export const AEAD_IV_BYTES = 12;
export const X25519_KEY_BYTES = 32;

/** Cipher ids of `Cipher` in zig/src/aead.zig. */
const cipherIds: Record<CipherName, number> = { "chacha20-poly1305": 0, "aes-256-gcm": 1 };

/** Packet i is base[offsets[i] .. offsets[i] + lengths[i]] (tag included), numbered packetNumbers[i]. */
export interface PacketBatch {
  base: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  packetNumbers: Uint32Array;
  count: number;
  /** Bytes of associated data (the plaintext header) at the start of every packet. */
  headerLength: number;
}

export interface AeadBackend {
  readonly name: "native" | "typescript";
  supports(cipher: CipherName): boolean;
  /** Seals every packet in place; returns how many were long enough to seal. */
  sealBatch(cipher: CipherName, key: Uint8Array, iv: Uint8Array, batch: PacketBatch): number;
  /** Opens every packet in place; verdicts[i] = 1 authentic, 0 drop. Returns the authentic count. */
  openBatch(cipher: CipherName, key: Uint8Array, iv: Uint8Array, batch: PacketBatch, verdicts: Uint8Array): number;
  seal(cipher: CipherName, key: Uint8Array, iv: Uint8Array, packet: Uint8Array, headerLength: number, packetNumber: number): boolean;
  open(cipher: CipherName, key: Uint8Array, iv: Uint8Array, packet: Uint8Array, headerLength: number, packetNumber: number): boolean;
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /** null when the peer's key is a low-order point (all-zero shared secret, RFC 7748 §6.1). */
  x25519Shared(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array | null;
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

export class AeadArgumentError extends RangeError {}

function checkKey(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== AEAD_KEY_BYTES) throw new AeadArgumentError(`aead: key is ${key.length} bytes, must be ${AEAD_KEY_BYTES}`);
  if (iv.length !== AEAD_IV_BYTES) throw new AeadArgumentError(`aead: iv is ${iv.length} bytes, must be ${AEAD_IV_BYTES}`);
}

function checkBatch(batch: PacketBatch, verdictsLength = Infinity): void {
  const { base, offsets, lengths, packetNumbers, count } = batch;
  if (count > offsets.length || count > lengths.length || count > packetNumbers.length || count > verdictsLength) {
    throw new AeadArgumentError(`aead batch: count ${count} exceeds offsets/lengths/packetNumbers/verdicts`);
  }
  for (let i = 0; i < count; i++) {
    if (offsets[i]! + lengths[i]! > base.length) throw new AeadArgumentError(`aead batch: packet ${i} ends past the buffer`);
  }
}

function check32(bytes: Uint8Array, what: string): void {
  if (bytes.length !== X25519_KEY_BYTES) throw new AeadArgumentError(`x25519: ${what} is ${bytes.length} bytes, must be 32`);
}

// ---- TypeScript backend (node:crypto) ----

/** nonce = iv xor packetNumber (as 8 bytes big-endian, right-aligned). */
export function nonceFor(iv: Uint8Array, packetNumber: number): Uint8Array {
  const nonce = Uint8Array.from(iv);
  const high = Math.floor(packetNumber / 2 ** 32);
  const low = packetNumber >>> 0;
  const view = new DataView(nonce.buffer);
  view.setUint32(4, view.getUint32(4) ^ high);
  view.setUint32(8, view.getUint32(8) ^ low);
  return nonce;
}

function typeScriptSeal(cipher: CipherName, key: Uint8Array, iv: Uint8Array, packet: Uint8Array, headerLength: number, packetNumber: number): boolean {
  if (packet.length < headerLength + AEAD_TAG_BYTES) return false;
  const bodyEnd = packet.length - AEAD_TAG_BYTES;
  if (cipher === "chacha20-poly1305") {
    const nonce = nonceFor(iv, packetNumber);
    packet.set(chacha20Poly1305Seal(key, nonce, packet.subarray(0, headerLength), packet.subarray(headerLength, bodyEnd)), bodyEnd);
    return true;
  }
  const context = createCipheriv(cipher, key, nonceFor(iv, packetNumber), { authTagLength: AEAD_TAG_BYTES });
  context.setAAD(packet.subarray(0, headerLength));
  packet.set(context.update(packet.subarray(headerLength, bodyEnd)), headerLength);
  context.final();
  packet.set(context.getAuthTag(), bodyEnd);
  return true;
}

function typeScriptOpen(cipher: CipherName, key: Uint8Array, iv: Uint8Array, packet: Uint8Array, headerLength: number, packetNumber: number): boolean {
  if (packet.length < headerLength + AEAD_TAG_BYTES) return false;
  const bodyEnd = packet.length - AEAD_TAG_BYTES;
  if (cipher === "chacha20-poly1305") {
    const nonce = nonceFor(iv, packetNumber);
    return chacha20Poly1305Open(key, nonce, packet.subarray(0, headerLength), packet.subarray(headerLength, bodyEnd), packet.subarray(bodyEnd));
  }
  const context = createDecipheriv(cipher, key, nonceFor(iv, packetNumber), { authTagLength: AEAD_TAG_BYTES });
  context.setAAD(packet.subarray(0, headerLength));
  context.setAuthTag(packet.subarray(bodyEnd));
  const plaintext = context.update(packet.subarray(headerLength, bodyEnd));
  try {
    context.final();
  } catch {
    return false; // forged or corrupted: the plaintext is never written back
  }
  packet.set(plaintext, headerLength);
  return true;
}

// DER wrappers for raw X25519 keys (RFC 8410): PKCS#8 private, SubjectPublicKeyInfo public.
const pkcs8Prefix = Buffer.from("302e020100300506032b656e04220420", "hex");
const spkiPrefix = Buffer.from("302a300506032b656e032100", "hex");

function privateKeyObject(secret: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, secret]), format: "der", type: "pkcs8" });
}

function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

function typeScriptHkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * 32) throw new AeadArgumentError(`hkdf: ${length} bytes asked, at most 8160`);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let block = 1, written = 0; written < length; block++) {
    previous = hmacSha256(prk, previous, info, Uint8Array.of(block));
    out.set(previous.subarray(0, Math.min(32, length - written)), written);
    written += 32;
  }
  return out;
}

function batchLoop(batch: PacketBatch, each: (packet: Uint8Array, packetNumber: number, i: number) => boolean): number {
  let done = 0;
  for (let i = 0; i < batch.count; i++) {
    const start = batch.offsets[i]!;
    if (each(batch.base.subarray(start, start + batch.lengths[i]!), batch.packetNumbers[i]!, i)) done++;
  }
  return done;
}

export const typeScriptAead: AeadBackend = {
  name: "typescript",
  supports: () => true,
  sealBatch(cipher, key, iv, batch) {
    checkKey(key, iv);
    checkBatch(batch);
    return batchLoop(batch, (packet, number) => typeScriptSeal(cipher, key, iv, packet, batch.headerLength, number));
  },
  openBatch(cipher, key, iv, batch, verdicts) {
    checkKey(key, iv);
    checkBatch(batch, verdicts.length);
    return batchLoop(batch, (packet, number, i) => {
      const ok = typeScriptOpen(cipher, key, iv, packet, batch.headerLength, number);
      verdicts[i] = ok ? 1 : 0;
      return ok;
    });
  },
  seal(cipher, key, iv, packet, headerLength, packetNumber) {
    checkKey(key, iv);
    return typeScriptSeal(cipher, key, iv, packet, headerLength, packetNumber);
  },
  open(cipher, key, iv, packet, headerLength, packetNumber) {
    checkKey(key, iv);
    return typeScriptOpen(cipher, key, iv, packet, headerLength, packetNumber);
  },
  x25519PublicKey(secret) {
    check32(secret, "secret");
    const der = createPublicKey(privateKeyObject(secret)).export({ format: "der", type: "spki" });
    return new Uint8Array(der.subarray(der.length - 32));
  },
  x25519Shared(secret, peerPublic) {
    check32(secret, "secret");
    check32(peerPublic, "peer public key");
    const publicKey = createPublicKey({ key: Buffer.concat([spkiPrefix, peerPublic]), format: "der", type: "spki" });
    let shared: Uint8Array;
    try {
      shared = new Uint8Array(diffieHellman({ privateKey: privateKeyObject(secret), publicKey }));
    } catch {
      return null; // OpenSSL refuses a low-order point
    }
    return shared.every((byte) => byte === 0) ? null : shared;
  },
  hkdfExtract(salt, ikm) {
    return hmacSha256(salt, ikm);
  },
  hkdfExpand: typeScriptHkdfExpand,
};

// ---- native backend (zig/src/aead.zig) ----

function nativeBackend(symbols: NonNullable<typeof native>): AeadBackend {
  const one = { offsets: new Uint32Array(1), lengths: new Uint32Array(1), numbers: new Uint32Array(1), verdict: new Uint8Array(1) };
  const supports = (cipher: CipherName) => symbols.rudp_aead_cipher_supported(cipherIds[cipher]);
  const unsupported = (cipher: CipherName) => new AeadArgumentError(`aead: ${cipher} is not supported natively on this CPU; use the typescript backend`);
  const checked = (code: number, cipher: CipherName) => {
    if (code === -5) throw unsupported(cipher);
    if (code < 0) throw new AeadArgumentError(`aead: native call refused (status ${code})`);
    return code;
  };
  return {
    name: "native",
    supports,
    sealBatch(cipher, key, iv, batch) {
      checkKey(key, iv);
      checkBatch(batch);
      if (batch.count === 0) return 0;
      const code = symbols.rudp_aead_seal_batch(cipherIds[cipher], key, iv, batch.base, batch.offsets, batch.lengths, batch.packetNumbers, batch.count, batch.headerLength);
      return checked(code, cipher);
    },
    openBatch(cipher, key, iv, batch, verdicts) {
      checkKey(key, iv);
      checkBatch(batch, verdicts.length);
      if (batch.count === 0) return 0;
      const code = symbols.rudp_aead_open_batch(cipherIds[cipher], key, iv, batch.base, batch.offsets, batch.lengths, batch.packetNumbers, batch.count, batch.headerLength, verdicts);
      return checked(code, cipher);
    },
    seal(cipher, key, iv, packet, headerLength, packetNumber) {
      checkKey(key, iv);
      if (packet.length === 0) return false;
      return checked(symbols.rudp_aead_seal(cipherIds[cipher], key, iv, packet, packet.length, headerLength, packetNumber >>> 0), cipher) === 1;
    },
    open(cipher, key, iv, packet, headerLength, packetNumber) {
      checkKey(key, iv);
      if (packet.length === 0) return false;
      return checked(symbols.rudp_aead_open(cipherIds[cipher], key, iv, packet, packet.length, headerLength, packetNumber >>> 0), cipher) === 1;
    },
    x25519PublicKey(secret) {
      check32(secret, "secret");
      const out = new Uint8Array(32);
      if (symbols.rudp_x25519_public_key(secret, out) < 0) throw new AeadArgumentError("x25519: this secret has no usable public key");
      return out;
    },
    x25519Shared(secret, peerPublic) {
      check32(secret, "secret");
      check32(peerPublic, "peer public key");
      const out = new Uint8Array(32);
      return symbols.rudp_x25519_shared(secret, peerPublic, out) < 0 ? null : out;
    },
    hkdfExtract(salt, ikm) {
      const out = new Uint8Array(32);
      // bun:ffi cannot pass an empty array's pointer: a 1-byte stand-in with length 0.
      symbols.rudp_hkdf_sha256_extract(salt.length ? salt : one.verdict, salt.length, ikm.length ? ikm : one.verdict, ikm.length, out);
      return out;
    },
    hkdfExpand(prk, info, length) {
      if (prk.length !== 32) throw new AeadArgumentError(`hkdf: prk is ${prk.length} bytes, must be 32`);
      if (length > 255 * 32) throw new AeadArgumentError(`hkdf: ${length} bytes asked, at most 8160`);
      const out = new Uint8Array(Math.max(length, 1));
      symbols.rudp_hkdf_sha256_expand(prk, info.length ? info : one.verdict, info.length, out, length);
      return out.subarray(0, length);
    },
  };
}

/** The native backend, or null without the library (or with an older one lacking the symbols). */
export const nativeAead: AeadBackend | null = native && typeof native.rudp_aead_seal_batch === "function" ? nativeBackend(native) : null;

/** What the engine uses by default: native when loaded, else node:crypto. */
export function defaultAead(): AeadBackend {
  return nativeAead ?? typeScriptAead;
}

/** AES-256-GCM when the CPU accelerates it (AES-NI + PCLMULQDQ + AVX, read with cpuid), else ChaCha20-Poly1305. */
export function preferredCipher(): CipherName {
  if (!native || typeof native.rudp_aead_preferred_cipher !== "function") return "chacha20-poly1305";
  return native.rudp_aead_preferred_cipher() === cipherIds["aes-256-gcm"] ? "aes-256-gcm" : "chacha20-poly1305";
}

// ---- the engine's view (src/protocol/api.ts EngineCrypto) ----

const cipherNames: readonly CipherName[] = ["chacha20-poly1305", "aes-256-gcm"];

type PrefixAead = (cipher: number, key: Uint8Array, iv: Uint8Array, buffer: Uint8Array, length: number, headerLength: number, packetNumber: number) => boolean;

/** Structurally the engine's EngineCrypto (src/protocol/api.ts; native imports no other layer). */
export interface EngineCryptoBackend {
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  x25519Shared(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array | null;
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  seal: PrefixAead;
  open: PrefixAead;
  readonly fastCiphers: number;
  /** "native" or "typescript": for logs and /stats. */
  readonly backendName: string;
}

/** The primitives the engine's packet protection takes through its dependencies: `backend`
 *  (default: native when loaded, else node:crypto), ciphers by wire id, packets as a prefix of
 *  a buffer so the native path makes no view per packet. */
export function engineCrypto(backend: AeadBackend = defaultAead()): EngineCryptoBackend {
  const fast = (preferredCipher() === "aes-256-gcm" ? 2 : 0) | (backend.name === "native" ? 1 : 0);
  const symbols = backend.name === "native" ? native : null;
  if (symbols !== null && symbols !== undefined) {
    return {
      x25519PublicKey: backend.x25519PublicKey,
      x25519Shared: backend.x25519Shared,
      hkdfExtract: backend.hkdfExtract,
      hkdfExpand: backend.hkdfExpand,
      fastCiphers: fast,
      backendName: backend.name,
      seal: (cipher, key, iv, buffer, length, headerLength, packetNumber) =>
        symbols.rudp_aead_seal(cipher, key, iv, buffer, length, headerLength, packetNumber >>> 0) === 1,
      open: (cipher, key, iv, buffer, length, headerLength, packetNumber) =>
        symbols.rudp_aead_open(cipher, key, iv, buffer, length, headerLength, packetNumber >>> 0) === 1,
    };
  }
  return {
    x25519PublicKey: backend.x25519PublicKey,
    x25519Shared: backend.x25519Shared,
    hkdfExtract: backend.hkdfExtract,
    hkdfExpand: backend.hkdfExpand,
    // node:crypto runs AES-GCM on AES-NI (BoringSSL); the TypeScript ChaCha20 is slow.
    fastCiphers: 2,
    backendName: backend.name,
    seal: (cipher, key, iv, buffer, length, headerLength, packetNumber) =>
      backend.seal(cipherNames[cipher]!, key, iv, buffer.subarray(0, length), headerLength, packetNumber >>> 0),
    open: (cipher, key, iv, buffer, length, headerLength, packetNumber) =>
      backend.open(cipherNames[cipher]!, key, iv, buffer.subarray(0, length), headerLength, packetNumber >>> 0),
  };
}
