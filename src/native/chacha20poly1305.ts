// ChaCha20-Poly1305 (RFC 8439) in TypeScript, for the fallback backend: Bun's node:crypto
// (BoringSSL) has no "chacha20-poly1305" cipher. Correct and constant-size but slow
// (Poly1305 on BigInt, tens of microseconds per 1200-byte packet): the native library is
// the fast path; without it a peer still interoperates with one that chose ChaCha20.

function rotl(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rotl(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rotl(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rotl(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rotl(s[b]! ^ s[c]!, 7);
}

const sigma = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574);

function initialState(key: Uint8Array, nonce: Uint8Array): Uint32Array {
  const state = new Uint32Array(16);
  const keyView = new DataView(key.buffer, key.byteOffset, 32);
  const nonceView = new DataView(nonce.buffer, nonce.byteOffset, 12);
  state.set(sigma);
  for (let i = 0; i < 8; i++) state[4 + i] = keyView.getUint32(i * 4, true);
  for (let i = 0; i < 3; i++) state[13 + i] = nonceView.getUint32(i * 4, true);
  return state;
}

/** One 64-byte keystream block for `counter` into `out`. */
function block(initial: Uint32Array, counter: number, working: Uint32Array, out: Uint8Array): void {
  initial[12] = counter >>> 0;
  working.set(initial);
  for (let round = 0; round < 10; round++) {
    quarterRound(working, 0, 4, 8, 12); quarterRound(working, 1, 5, 9, 13);
    quarterRound(working, 2, 6, 10, 14); quarterRound(working, 3, 7, 11, 15);
    quarterRound(working, 0, 5, 10, 15); quarterRound(working, 1, 6, 11, 12);
    quarterRound(working, 2, 7, 8, 13); quarterRound(working, 3, 4, 9, 14);
  }
  const view = new DataView(out.buffer, out.byteOffset, 64);
  for (let i = 0; i < 16; i++) view.setUint32(i * 4, (working[i]! + initial[i]!) >>> 0, true);
}

/** data ^= keystream(key, nonce, from counter), in place. */
function chacha20Xor(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array): void {
  const initial = initialState(key, nonce);
  const working = new Uint32Array(16);
  const stream = new Uint8Array(64);
  for (let offset = 0; offset < data.length; offset += 64, counter++) {
    block(initial, counter, working, stream);
    const end = Math.min(64, data.length - offset);
    for (let i = 0; i < end; i++) data[offset + i]! ^= stream[i]!;
  }
}

const p1305 = (1n << 130n) - 5n;

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

class Poly1305 {
  private h = 0n;
  private readonly r: bigint;
  private readonly s: bigint;
  constructor(oneTimeKey: Uint8Array) {
    this.r = littleEndian(oneTimeKey.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
    this.s = littleEndian(oneTimeKey.subarray(16, 32));
  }
  /** Absorbs `data` zero-padded to 16 bytes (the AEAD construction's padding). */
  updatePadded(data: Uint8Array): void {
    for (let offset = 0; offset < data.length; offset += 16) {
      const chunk = new Uint8Array(17);
      chunk.set(data.subarray(offset, Math.min(offset + 16, data.length)));
      chunk[16] = 1;
      this.h = ((this.h + littleEndian(chunk)) * this.r) % p1305;
    }
  }
  final(): Uint8Array {
    let tag = (this.h + this.s) & ((1n << 128n) - 1n);
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn);
    return out;
  }
}

function tagFor(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const oneTimeKey = new Uint8Array(64);
  chacha20Xor(key, nonce, 0, oneTimeKey);
  const mac = new Poly1305(oneTimeKey);
  mac.updatePadded(aad);
  mac.updatePadded(ciphertext);
  const lengths = new Uint8Array(16);
  const view = new DataView(lengths.buffer);
  view.setUint32(0, aad.length, true);
  view.setUint32(8, ciphertext.length, true);
  mac.updatePadded(lengths);
  return mac.final();
}

/** Encrypts `body` in place and returns the 16-byte tag. */
export function chacha20Poly1305Seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, body: Uint8Array): Uint8Array {
  chacha20Xor(key, nonce, 1, body);
  return tagFor(key, nonce, aad, body);
}

/** Checks `tag` (without an early exit) and decrypts `body` in place only when it matches. */
export function chacha20Poly1305Open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, body: Uint8Array, tag: Uint8Array): boolean {
  const expected = tagFor(key, nonce, aad, body);
  let difference = 0;
  for (let i = 0; i < 16; i++) difference |= expected[i]! ^ tag[i]!;
  if (difference !== 0) return false;
  chacha20Xor(key, nonce, 1, body);
  return true;
}
