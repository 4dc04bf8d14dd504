// Encryption end to end in the engine (docs/PROTOCOL.md §9): the key exchange inside the
// cookie handshake, protected DATA, what a forger, a replayer or a bit flip achieves (nothing
// the application sees, and no close), key updates, and the plaintext/encrypted mismatch.
import { describe, expect, test } from "bun:test";
import { backends, encryptedPair } from "./encryptedPair.ts";
import { Pair } from "./pair.ts";
import { engineCrypto, typeScriptAead } from "../../src/native/index.ts";

const encoder = new TextEncoder();
const secretMessage = (i: number) => encoder.encode(`attack at dawn #${i} -- the quick brown fox jumps over the lazy dog`);

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const serverSecret = Uint8Array.from({ length: 32 }, (_, i) => 0x70 + i);
const serverPublic = typeScriptAead.x25519PublicKey(serverSecret);

describe.each(backends)("encrypted sessions (%s backend)", (_name, backend) => {
  test("connects in two round trips, delivers both ways, says unauthenticated without a pin", () => {
    const pair = encryptedPair({}, {}, 7, backend);
    const start = pair.nowUs;
    let connectedAtUs = -1;
    const longHeaders: number[] = [];
    pair.dropFilter = (_direction, bytes) => {
      if (bytes[0]! < 0x10) longHeaders.push(bytes[0]!);
      return false;
    };
    const handle = pair.connect();
    for (let i = 0; i < 100 && connectedAtUs < 0; i++) {
      pair.drive(100);
      if (pair.clientEvents.some((e) => e.type === "connected")) connectedAtUs = pair.nowUs;
    }
    // INITIAL, RETRY, INITIAL, HANDSHAKE: four one-way delays = two round trips.
    expect(connectedAtUs - start).toBeLessThanOrEqual(4 * pair.oneWayDelayUs + 100);
    expect(longHeaders).toEqual([0x01, 0x02, 0x01, 0x03]); // INITIAL, RETRY, INITIAL, HANDSHAKE: nothing more
    pair.client.send(handle, 0, secretMessage(1));
    pair.drive(200_000);
    const serverHandle = pair.serverEvents.find((e) => e.type === "connected")!.connection;
    pair.server.send(serverHandle, 0, secretMessage(2));
    pair.drive(200_000);
    expect(pair.messages("server")).toEqual([secretMessage(1)]);
    expect(pair.messages("client")).toEqual([secretMessage(2)]);
    expect(pair.client.connectionStats(handle)!.security).toBe("unauthenticated");
    expect(pair.server.connectionStats(serverHandle)!.security).toBe("encrypted");
    expect(["aes-256-gcm", "chacha20-poly1305"]).toContain(pair.client.connectionStats(handle)!.cipher!);
  });

  test("a pinned key that matches says authenticated; another server's key fails with server-key-mismatch", () => {
    const good = encryptedPair({ staticSecretKey: serverSecret }, { serverPublicKey: serverPublic }, 3, backend);
    const handle = good.connect();
    good.drive(500_000);
    expect(good.client.connectionStats(handle)!.security).toBe("authenticated");

    const wrongPin = Uint8Array.from(serverPublic);
    wrongPin[0] ^= 1;
    const bad = encryptedPair({ staticSecretKey: serverSecret }, { serverPublicKey: wrongPin }, 3, backend);
    bad.connect();
    bad.drive(500_000);
    expect(bad.clientEvents.filter((e) => e.type === "connected")).toEqual([]);
    expect(bad.clientEvents.find((e) => e.type === "closed")!.reason).toBe("server-key-mismatch");
  });
});

describe("what an attacker achieves", () => {
  test("a capture of every datagram of a session holds none of the messages' bytes", () => {
    const pair = encryptedPair({}, {}, 11);
    const captured: Uint8Array[] = [];
    pair.dropFilter = (_direction, bytes) => {
      captured.push(bytes.slice());
      return false;
    };
    const handle = pair.connect();
    pair.drive(300_000);
    const serverHandle = pair.serverEvents.find((e) => e.type === "connected")!.connection;
    const big = new Uint8Array(20_000).map((_, i) => "confidential".charCodeAt(i % 12));
    for (let i = 0; i < 20; i++) pair.client.send(handle, 0, secretMessage(i));
    pair.client.send(handle, 1, big);
    pair.server.send(serverHandle, 0, secretMessage(99));
    pair.drive(2_000_000);
    expect(pair.messages("server").length).toBe(21);
    expect(pair.messages("client")).toEqual([secretMessage(99)]);
    expect(captured.length).toBeGreaterThan(25);
    const needles = [encoder.encode("attack at dawn"), encoder.encode("confidentialconf"), encoder.encode("lazy dog")];
    for (const datagram of captured) for (const needle of needles) expect(contains(datagram, needle)).toBe(false);
    // Plaintext, the same session shows them (the check can fail).
    const plain = new Pair({}, {}, 11);
    let seen = false;
    plain.dropFilter = (_d, bytes) => {
      seen ||= contains(bytes, needles[0]!);
      return false;
    };
    const plainHandle = plain.connect();
    plain.drive(300_000);
    plain.client.send(plainHandle, 0, secretMessage(1));
    plain.drive(300_000);
    expect(seen).toBe(true);
  });

  test("forged, bit-flipped and replayed DATA never reach the application and never close the connection", () => {
    const pair = encryptedPair({}, {}, 5);
    const toServer: Uint8Array[] = [];
    pair.dropFilter = (direction, bytes) => {
      if (direction === "toServer") toServer.push(bytes.slice());
      return false;
    };
    const handle = pair.connect();
    pair.drive(300_000);
    pair.client.send(handle, 0, secretMessage(1));
    pair.drive(300_000);
    expect(pair.messages("server")).toEqual([secretMessage(1)]);
    const sealed = toServer.filter((d) => (d[0]! & 0xfe) === 0x10);
    const withMessage = sealed[sealed.length - 2] ?? sealed[0]!;
    const counters = pair.server.counters;
    const inject = (bytes: Uint8Array) => pair.server.handleDatagram(pair.nowUs, bytes, pair.clientAddress);
    // Every single-bit flip of the packet that carried the message (header, body and tag).
    let flips = 0;
    for (const datagram of sealed) {
      for (let bit = 0; bit < datagram.length * 8; bit += 7) {
        const copy = datagram.slice();
        copy[bit >>> 3]! ^= 1 << (bit & 7);
        inject(copy);
        flips++;
      }
    }
    // Replays of every packet the client sent, twice.
    for (const datagram of [...sealed, ...sealed]) inject(datagram.slice());
    // Forgeries: a CLOSE frame "sealed" with a made-up tag, and random bytes, to the live ID.
    // (fresh packet numbers, so the replay window lets them through to the tag check)
    const forged = withMessage.slice(0, 13 + 3 + 16);
    forged[12] = 0xf0;
    forged[13] = 0x05; // the CLOSE frame type in plaintext: never read, the tag fails first
    inject(forged);
    for (let i = 0; i < 50; i++) {
      const noise = withMessage.slice();
      noise[11] = 0x01;
      noise[12] = i;
      for (let j = 13; j < noise.length; j++) noise[j] = (j * 31 + i * 17) & 0xff;
      inject(noise);
    }
    pair.drive(300_000);
    expect(pair.messages("server")).toEqual([secretMessage(1)]);
    expect(pair.serverEvents.filter((e) => e.type === "closed")).toEqual([]);
    expect(counters.packetsReplayed).toBeGreaterThanOrEqual(2 * sealed.length);
    expect(counters.packetsDecryptFailed).toBeGreaterThanOrEqual(51);
    expect(counters.drops["decrypt-failed"]!).toBe(counters.packetsDecryptFailed!);
    // Still alive: a later message arrives.
    pair.client.send(handle, 0, secretMessage(2));
    pair.drive(300_000);
    expect(pair.messages("server")).toEqual([secretMessage(1), secretMessage(2)]);
    expect(flips).toBeGreaterThan(100);
  });

  test("a forged HANDSHAKE does not end the attempt: counted, and the real one still connects", () => {
    const pair = encryptedPair({}, {}, 9);
    let forgedOnce = false;
    pair.dropFilter = (direction, bytes) => {
      if (direction === "toClient" && bytes[0] === 0x03 && !forgedOnce) {
        forgedOnce = true;
        const forged = bytes.slice();
        forged[forged.length - 1]! ^= 0x80; // the tag
        pair.client.handleDatagram(pair.nowUs, forged, pair.serverAddress);
        const otherKey = bytes.slice();
        otherKey[otherKey.length - 20]! ^= 0x01; // inside s: a MITM's key without its tag
        pair.client.handleDatagram(pair.nowUs, otherKey, pair.serverAddress);
      }
      return false;
    };
    pair.connect();
    pair.drive(500_000);
    expect(forgedOnce).toBe(true);
    expect(pair.client.counters.handshakeAuthFailed).toBe(2);
    expect(pair.clientEvents.map((e) => e.type)).toEqual(["connected"]);
  });
});

describe("key update and mismatches", () => {
  test("key updates after keyUpdatePackets: both directions move on, nothing is lost or refused", () => {
    const pair = encryptedPair({ keyUpdatePackets: 16 }, { keyUpdatePackets: 16 }, 21);
    const handle = pair.connect();
    pair.drive(300_000);
    const serverHandle = pair.serverEvents.find((e) => e.type === "connected")!.connection;
    const sent: Uint8Array[] = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 10; i++) {
        const message = secretMessage(round * 10 + i);
        sent.push(message);
        pair.client.send(handle, 0, message);
        pair.server.send(serverHandle, 0, message);
      }
      pair.drive(20_000);
    }
    pair.drive(1_000_000);
    expect(pair.messages("server")).toEqual(sent);
    expect(pair.messages("client")).toEqual(sent);
    const client = pair.client.connectionStats(handle)!;
    const server = pair.server.connectionStats(serverHandle)!;
    expect(client.keyUpdatesSent!).toBeGreaterThan(3);
    expect(server.keyUpdatesReceived!).toBe(client.keyUpdatesSent!);
    expect(server.keyUpdatesSent!).toBeGreaterThan(3);
    expect(client.keyUpdatesReceived!).toBe(server.keyUpdatesSent!);
    expect(pair.server.counters.packetsDecryptFailed).toBe(0);
  });

  test("encrypted client and plaintext server (and the reverse) fail with a clear reason", () => {
    const crypto = engineCrypto();
    const toPlain = new Pair({}, { encryption: true }, 2, { client: { crypto } });
    toPlain.connect();
    toPlain.drive(500_000);
    expect(toPlain.clientEvents.find((e) => e.type === "closed")!.reason).toBe("encryption-unsupported");
    const toEncrypted = new Pair({ encryption: true }, {}, 2, { server: { crypto } });
    toEncrypted.connect();
    toEncrypted.drive(500_000);
    expect(toEncrypted.clientEvents.find((e) => e.type === "closed")!.reason).toBe("encryption-required");
    expect(toEncrypted.server.counters.handshakesFailed["encryption-required"]).toBe(1);
  });

  test("encryption without a crypto dependency is a configuration error, not a silent plaintext", () => {
    expect(() => new Pair({ encryption: true }, {})).toThrow(/EngineDependencies.crypto/);
  });
});
