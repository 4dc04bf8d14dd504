// Reads docs/PROTOCOL.md §9.7's vectors and recomputes each from the stated inputs with the
// key schedule (src/protocol/crypto/keySchedule.ts), through both crypto backends: the spec,
// the native library and the node:crypto fallback cannot drift apart.
import { describe, expect, test } from "bun:test";
import { nativeAead, typeScriptAead, type AeadBackend } from "../../src/native/aead.ts";
import { clientSessionKeys, nextPhase, serverSessionKeys, KeyAgreementError, type HandshakeTranscript } from "../../src/protocol/crypto/keySchedule.ts";
import { readVectors } from "./vectors.test.ts";

const vectors = readVectors();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const vector = (name: string) => {
  const bytes = vectors.get(name);
  if (!bytes) throw new Error(`docs/PROTOCOL.md has no vector ${name}`);
  return bytes;
};
const secretFrom = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => start + i);
const clientEphemeral = secretFrom(0x10);
const serverEphemeral = secretFrom(0x40);
const serverStatic = secretFrom(0x70);

function transcriptWith(crypto: AeadBackend): HandshakeTranscript {
  return {
    version: 1,
    clientId: Uint8Array.from(Buffer.from("1122334455667788", "hex")),
    serverId: Uint8Array.from(Buffer.from("99aabbccddeeff00", "hex")),
    cipher: 1,
    clientEphemeralPublic: crypto.x25519PublicKey(clientEphemeral),
    serverEphemeralPublic: crypto.x25519PublicKey(serverEphemeral),
    serverStaticPublic: crypto.x25519PublicKey(serverStatic),
  };
}

for (const [label, backend] of [["typescript", typeScriptAead], ["native", nativeAead]] as const) {
  if (!backend) console.warn(`cryptoVectors.test.ts: native backend skipped: librudp not loaded (run \`bun run build\`)`);
  describe.skipIf(!backend)(`PROTOCOL.md §9.7 through the ${label} backend`, () => {
    const crypto = backend!;
    const transcript = backend ? transcriptWith(crypto) : null;
    const client = backend ? clientSessionKeys(crypto, transcript!, clientEphemeral) : null;

    test("public keys and transcript hash", () => {
      const keys = vector("crypto-public-keys");
      expect(hex(transcript!.clientEphemeralPublic)).toBe(hex(keys.subarray(0, 32)));
      expect(hex(transcript!.serverEphemeralPublic)).toBe(hex(keys.subarray(32, 64)));
      expect(hex(transcript!.serverStaticPublic)).toBe(hex(keys.subarray(64, 96)));
      expect(hex(client!.transcriptHash)).toBe(hex(vector("crypto-transcript-hash")));
    });

    test("client and server derive the same keys, and they are the document's", () => {
      const server = serverSessionKeys(crypto, transcript!, serverEphemeral, serverStatic);
      expect(hex(server.clientToServer.key)).toBe(hex(client!.clientToServer.key));
      expect(hex(server.serverToClient.iv)).toBe(hex(client!.serverToClient.iv));
      expect(hex(concat(client!.handshakeServer.key, client!.handshakeServer.iv))).toBe(hex(vector("crypto-handshake-key")));
      const { secret, key, iv } = client!.clientToServer;
      expect(hex(concat(secret, key, iv))).toBe(hex(vector("crypto-c2s-phase0")));
      const s2c = client!.serverToClient;
      expect(hex(concat(s2c.secret, s2c.key, s2c.iv))).toBe(hex(vector("crypto-s2c-phase0")));
      expect(hex(s2c.key)).not.toBe(hex(key)); // one key per direction
      const next = nextPhase(crypto, client!.clientToServer);
      expect(next.phase).toBe(1);
      expect(hex(concat(next.secret, next.key, next.iv))).toBe(hex(vector("crypto-c2s-phase1")));
    });

    test("a server without the static key (a man in the middle with its own) derives other keys", () => {
      const impostor = secretFrom(0xa0);
      const forged = serverSessionKeys(crypto, { ...transcript!, serverStaticPublic: transcript!.serverStaticPublic }, serverEphemeral, impostor);
      expect(hex(forged.handshakeServer.key)).not.toBe(hex(client!.handshakeServer.key));
    });

    test("the HANDSHAKE tag verifies under the handshake key and fails for any flipped bit", () => {
      const packet = Uint8Array.from(vector("crypto-handshake"));
      const { key, iv } = client!.handshakeServer;
      const sealedBy = (bytes: Uint8Array) => crypto.open("aes-256-gcm", key, iv, bytes, bytes.length - 16, 0);
      expect(sealedBy(Uint8Array.from(packet))).toBe(true);
      const fresh = Uint8Array.from(packet);
      fresh.fill(0, fresh.length - 16);
      crypto.seal("aes-256-gcm", key, iv, fresh, fresh.length - 16, 0);
      expect(hex(fresh)).toBe(hex(packet));
      for (const byte of [0, 5, 30, 40, 80, packet.length - 1]) {
        const forged = Uint8Array.from(packet);
        forged[byte]! ^= 1;
        expect(sealedBy(forged)).toBe(false);
      }
    });

    test("the sealed DATA packet opens to the frames of data-ack-messages", () => {
      const sealed = Uint8Array.from(vector("crypto-data-sealed"));
      const { key, iv } = client!.clientToServer;
      expect(crypto.open("aes-256-gcm", key, iv, sealed, 13, 42)).toBe(true);
      const plain = vector("data-ack-messages");
      // the plaintext vector ends with its CRC32C; the tag has taken that place
      expect(hex(sealed.subarray(0, sealed.length - 16))).toBe(hex(plain.subarray(0, plain.length - 4)));
      expect(crypto.open("aes-256-gcm", key, iv, Uint8Array.from(vector("crypto-data-sealed")), 13, 43)).toBe(false);
    });

    test("a low-order key from the peer is refused with KeyAgreementError", () => {
      expect(() => clientSessionKeys(crypto, { ...transcript!, serverEphemeralPublic: new Uint8Array(32) }, clientEphemeral)).toThrow(KeyAgreementError);
      expect(() => serverSessionKeys(crypto, { ...transcript!, clientEphemeralPublic: new Uint8Array(32) }, serverEphemeral, serverStatic)).toThrow(KeyAgreementError);
    });
  });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}
