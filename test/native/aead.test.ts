// Known-answer tests for packet protection and key agreement, run against BOTH backends:
// zig/src/aead.zig through bun:ffi and the node:crypto fallback (src/native/aead.ts).
// Vectors: RFC 8439 §2.8.2 (ChaCha20-Poly1305), the GCM specification's AES-256 test cases
// 13, 14 and 16 (McGrew & Viega, as used by NIST CAVP), RFC 7748 §5.2/§6.1 (X25519),
// RFC 5869 A.1/A.3 (HKDF-SHA256).
import { describe, expect, test } from "bun:test";
import { nativeAead, typeScriptAead, preferredCipher, type AeadBackend, type CipherName } from "../../src/native/aead.ts";
import { cpuFeatures } from "../../src/native/crc32c.ts";
import { native } from "../../src/native/load.ts";

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

interface AeadVector {
  name: string;
  cipher: CipherName;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const rfc8439Plaintext = Buffer.from(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
).toString("hex");

const aeadVectors: AeadVector[] = [
  {
    name: "RFC 8439 §2.8.2",
    cipher: "chacha20-poly1305",
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plaintext: rfc8439Plaintext,
    ciphertext:
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
    tag: "1ae10b594f09e26a7e902ecbd0600691",
  },
  { name: "GCM test case 13 (AES-256, empty)", cipher: "aes-256-gcm", key: "00".repeat(32), nonce: "00".repeat(12), aad: "", plaintext: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b" },
  {
    name: "GCM test case 14 (AES-256, one block)",
    cipher: "aes-256-gcm",
    key: "00".repeat(32),
    nonce: "00".repeat(12),
    aad: "",
    plaintext: "00".repeat(16),
    ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
    tag: "d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    name: "GCM test case 16 (AES-256, with AAD)",
    cipher: "aes-256-gcm",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
];

/** header | plaintext | 16 spare bytes: the in-place packet layout. */
function packetOf(vector: AeadVector): Uint8Array {
  const aad = hex(vector.aad);
  const plaintext = hex(vector.plaintext);
  const packet = new Uint8Array(aad.length + plaintext.length + 16);
  packet.set(aad);
  packet.set(plaintext, aad.length);
  return packet;
}

const backends: Array<[string, AeadBackend | null]> = [
  ["typescript", typeScriptAead],
  ["native", nativeAead],
];

for (const [label, backend] of backends) {
  describe(`${label} backend`, () => {
    if (!backend) console.warn(`aead.test.ts: native backend skipped: librudp not loaded or lacks the aead symbols (run \`bun run build\`)`);
    for (const vector of aeadVectors) {
      const unsupported = !backend || !backend.supports(vector.cipher);
      if (backend && unsupported) console.warn(`aead.test.ts: ${label} ${vector.name} skipped: ${vector.cipher} not supported on this CPU`);
      test.skipIf(unsupported)(`${vector.name}: seal gives the vector's ciphertext and tag, open restores it`, () => {
        const aead = backend!;
        const packet = packetOf(vector);
        const headerLength = vector.aad.length / 2;
        // packet number 0: the nonce is the IV itself
        expect(aead.seal(vector.cipher, hex(vector.key), hex(vector.nonce), packet, headerLength, 0)).toBe(true);
        expect(toHex(packet.subarray(headerLength, packet.length - 16))).toBe(vector.ciphertext);
        expect(toHex(packet.subarray(packet.length - 16))).toBe(vector.tag);
        expect(aead.open(vector.cipher, hex(vector.key), hex(vector.nonce), packet, headerLength, 0)).toBe(true);
        expect(toHex(packet.subarray(headerLength, packet.length - 16))).toBe(vector.plaintext);
      });
      test.skipIf(unsupported)(`${vector.name}: a flipped bit anywhere (header, body, tag) fails open`, () => {
        const aead = backend!;
        const headerLength = vector.aad.length / 2;
        const sealed = packetOf(vector);
        aead.seal(vector.cipher, hex(vector.key), hex(vector.nonce), sealed, headerLength, 0);
        for (let byte = 0; byte < sealed.length; byte++) {
          const forged = Uint8Array.from(sealed);
          forged[byte]! ^= 0x10;
          expect(aead.open(vector.cipher, hex(vector.key), hex(vector.nonce), forged, headerLength, 0)).toBe(false);
        }
        // the wrong packet number (a replay under another number) fails too
        expect(aead.open(vector.cipher, hex(vector.key), hex(vector.nonce), Uint8Array.from(sealed), headerLength, 1)).toBe(false);
      });
    }

    test.skipIf(!backend)("RFC 7748 §6.1: both public keys and the shared secret; §5.2 one-iteration vector", () => {
      const aead = backend!;
      const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
      const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
      expect(toHex(aead.x25519PublicKey(alice))).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
      expect(toHex(aead.x25519PublicKey(bob))).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
      const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
      expect(toHex(aead.x25519Shared(alice, aead.x25519PublicKey(bob))!)).toBe(shared);
      expect(toHex(aead.x25519Shared(bob, aead.x25519PublicKey(alice))!)).toBe(shared);
      const scalar = hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
      const u = hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
      expect(toHex(aead.x25519Shared(scalar, u)!)).toBe("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    });

    test.skipIf(!backend)("X25519 refuses low-order peer keys (all-zero shared secret)", () => {
      const aead = backend!;
      const secret = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
      expect(aead.x25519Shared(secret, new Uint8Array(32))).toBeNull();
      const one = new Uint8Array(32);
      one[0] = 1;
      expect(aead.x25519Shared(secret, one)).toBeNull();
    });

    test.skipIf(!backend)("RFC 5869 A.1 and A.3: HKDF-SHA256 extract and expand", () => {
      const aead = backend!;
      const prk1 = aead.hkdfExtract(hex("000102030405060708090a0b0c"), new Uint8Array(22).fill(0x0b));
      expect(toHex(prk1)).toBe("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
      expect(toHex(aead.hkdfExpand(prk1, hex("f0f1f2f3f4f5f6f7f8f9"), 42))).toBe(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
      );
      const prk3 = aead.hkdfExtract(new Uint8Array(0), new Uint8Array(22).fill(0x0b));
      expect(toHex(prk3)).toBe("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
      expect(toHex(aead.hkdfExpand(prk3, new Uint8Array(0), 42))).toBe(
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
      );
    });
  });
}

describe("every native kernel tier gives the vectors' bytes", () => {
  const tiers = native ? [0, 1, 2].filter((tier) => native!.rudp_aead_set_tier_max(tier) === tier) : [];
  if (native) native.rudp_aead_set_tier_max(2);
  if (!native) console.warn("aead.test.ts: kernel tiers skipped: librudp not loaded");
  test.skipIf(!native)(`tiers this CPU has (${tiers.join(", ")}): seal and open match every AEAD vector`, () => {
    try {
      for (const tier of tiers) {
        native!.rudp_aead_set_tier_max(tier);
        for (const vector of aeadVectors) {
          if (!nativeAead!.supports(vector.cipher)) continue;
          const packet = packetOf(vector);
          const headerLength = vector.aad.length / 2;
          nativeAead!.seal(vector.cipher, hex(vector.key), hex(vector.nonce), packet, headerLength, 0);
          expect(`${tier} ${toHex(packet.subarray(headerLength))}`).toBe(`${tier} ${vector.ciphertext}${vector.tag}`);
          expect(nativeAead!.open(vector.cipher, hex(vector.key), hex(vector.nonce), packet, headerLength, 0)).toBe(true);
        }
      }
    } finally {
      native!.rudp_aead_set_tier_max(2);
    }
    expect(tiers).toContain(0);
  });
});

const cipherNames: CipherName[] = ["chacha20-poly1305", "aes-256-gcm"];

describe("batches: one call seals a GSO run, the other backend opens it", () => {
  for (const cipher of cipherNames) {
    const runnable = nativeAead !== null && nativeAead.supports(cipher);
    if (!runnable) console.warn(`aead.test.ts: ${cipher} batch cross-check skipped: native backend absent or cipher unsupported on this CPU`);
    test.skipIf(!runnable)(`${cipher}: native batch == typescript per packet; forged and short packets get verdict 0`, () => {
      const count = 64;
      const packetBytes = 1200;
      const headerLength = 13;
      const key = hex("0102030405060708091011121314151617181920212223242526272829303132");
      const iv = hex("a0a1a2a3a4a5a6a7a8a9aaab");
      const base = new Uint8Array(count * packetBytes);
      for (let i = 0; i < base.length; i++) base[i] = (i * 31 + 7) & 0xff;
      const plain = Uint8Array.from(base);
      const offsets = Uint32Array.from({ length: count }, (_, i) => i * packetBytes);
      const lengths = Uint32Array.from({ length: count }, (_, i) => (i === 5 ? headerLength + 16 : packetBytes - (i % 3)));
      lengths[9] = 10; // shorter than header + tag: refused on both sides (packet 5 is header + tag only, empty body)
      const packetNumbers = Uint32Array.from({ length: count }, (_, i) => 1000 + i);
      const batch = { base, offsets, lengths, packetNumbers, count, headerLength };
      expect(nativeAead!.sealBatch(cipher, key, iv, batch)).toBe(count - 1);
      for (let i = 0; i < count; i++) {
        if (i === 9) continue;
        const expected = plain.slice(offsets[i]!, offsets[i]! + lengths[i]!);
        typeScriptAead.seal(cipher, key, iv, expected, headerLength, packetNumbers[i]!);
        expect(toHex(base.subarray(offsets[i]!, offsets[i]! + lengths[i]!))).toBe(toHex(expected));
      }
      base[offsets[3]! + 100]! ^= 1; // corrupted body
      packetNumbers[7] = 999; // replayed under another number
      const verdicts = new Uint8Array(count);
      expect(nativeAead!.openBatch(cipher, key, iv, batch, verdicts)).toBe(count - 3);
      expect([verdicts[3], verdicts[7], verdicts[9]]).toEqual([0, 0, 0]);
      for (let i = 0; i < count; i++) {
        if (verdicts[i] !== 1) continue;
        const start = offsets[i]!;
        expect(toHex(base.subarray(start, start + lengths[i]! - 16))).toBe(toHex(plain.subarray(start, start + lengths[i]! - 16)));
      }
    });
  }

  test("a batch that names bytes past its buffer is refused before any FFI call", () => {
    const batch = { base: new Uint8Array(100), offsets: Uint32Array.of(90), lengths: Uint32Array.of(20), packetNumbers: Uint32Array.of(0), count: 1, headerLength: 0 };
    for (const backend of [typeScriptAead, nativeAead]) {
      if (!backend) continue;
      expect(() => backend.sealBatch("chacha20-poly1305", new Uint8Array(32), new Uint8Array(12), batch)).toThrow(/past the buffer/);
    }
  });
});

test("the preferred cipher is AES-256-GCM exactly when the CPU has AES-NI, PCLMULQDQ and AVX", () => {
  const features = cpuFeatures();
  const hasAes = features.aes && features.pclmulqdq && features.avx;
  if (!nativeAead) {
    expect(preferredCipher()).toBe("chacha20-poly1305");
    return;
  }
  expect(preferredCipher()).toBe(hasAes ? "aes-256-gcm" : "chacha20-poly1305");
  expect(nativeAead.supports("aes-256-gcm")).toBe(hasAes);
});
