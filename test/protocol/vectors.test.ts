// Reads the hex vectors out of docs/PROTOCOL.md, decodes each, checks the fields the document
// states, and re-encodes it byte for byte.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { decodeDatagram, encodeDatagram, type Packet } from "../../src/protocol/wire/codec.ts";
import { crc32c } from "./pair.ts";

export function readVectors(): Map<string, Uint8Array> {
  const text = readFileSync(new URL("../../docs/PROTOCOL.md", import.meta.url), "utf8");
  const vectors = new Map<string, Uint8Array>();
  for (const match of text.matchAll(/```hex name=(\S+)\n([\s\S]*?)```/g)) {
    const bytes: number[] = [];
    for (const line of match[2].split("\n")) {
      for (const token of line.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean)) {
        const repeat = /^([0-9a-f]{2})\*(\d+)$/i.exec(token);
        if (repeat) {
          for (let i = 0; i < Number(repeat[2]); i++) bytes.push(parseInt(repeat[1], 16));
          continue;
        }
        if (!/^([0-9a-f]{2})+$/i.test(token)) throw new Error(`bad hex token ${token} in ${match[1]}`);
        for (let i = 0; i < token.length; i += 2) bytes.push(parseInt(token.slice(i, i + 2), 16));
      }
    }
    vectors.set(match[1], Uint8Array.from(bytes));
  }
  return vectors;
}

const vectors = readVectors();
const client = 0x1122334455667788n;
const server = 0x99aabbccddeeff00n;

function decode(name: string): Packet {
  const bytes = vectors.get(name);
  if (bytes === undefined) throw new Error(`vector ${name} missing from PROTOCOL.md`);
  const result = decodeDatagram(bytes, crc32c);
  if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  const out = new Uint8Array(2048);
  const length = encodeDatagram(result.packet, out, crc32c);
  expect(Buffer.from(out.subarray(0, length)).toString("hex")).toBe(Buffer.from(bytes).toString("hex"));
  return result.packet;
}

describe("PROTOCOL.md vectors", () => {
  test("all eleven vectors are present", () => {
    // crypto-* vectors (§9) are read by cryptoVectors.test.ts
    expect([...vectors.keys()].filter((name) => !name.startsWith("crypto-")).sort()).toEqual(
      ["cookie", "cookie-mac-input", "data-ack-messages", "data-close", "data-fragment-maxdata-ping", "handshake", "initial", "initial-token", "reject", "retry",
        "version-negotiation"],
    );
  });

  test("initial", () => {
    expect(vectors.get("initial")!.length).toBe(1200);
    expect(decode("initial")).toEqual({ type: "initial", version: 1, sourceId: client, initialMaxData: 4194304, maxAckDelayUs: 2000, token: new Uint8Array(0) });
    const withToken = decode("initial-token");
    expect(withToken.type === "initial" && withToken.token.length).toBe(24);
  });

  test("retry, handshake, version negotiation, reject", () => {
    const retry = decode("retry");
    expect(retry.type === "retry" && retry.destinationId).toBe(client);
    expect(decode("handshake")).toEqual({ type: "handshake", version: 1, destinationId: client, sourceId: server, initialMaxData: 4194304, maxAckDelayUs: 25000 });
    expect(decode("version-negotiation")).toEqual({ type: "version-negotiation", destinationId: client, versions: [1] });
    expect(decode("reject")).toEqual({ type: "reject", version: 1, destinationId: client, reasonCode: 6 });
  });

  test("data with ACK ranges and messages", () => {
    const packet = decode("data-ack-messages");
    if (packet.type !== "data") throw new Error("not data");
    expect(packet.destinationId).toBe(server);
    expect(packet.packetNumberLow32).toBe(42);
    expect(packet.frames[0]).toEqual({ kind: "ack", ackDelayUs: 1500, ranges: [[100, 98], [95, 90]] });
    expect(packet.frames[1]).toMatchObject({ kind: "message", mode: 0, channel: 7, messageId: 5, fragmentCount: 1, payload: new TextEncoder().encode("abc") });
    expect(packet.frames[2]).toMatchObject({ kind: "message", mode: 3, channel: 200, messageId: 300, payload: new Uint8Array(0) });
  });

  test("data with fragment, MAX_DATA, PING; data with CLOSE", () => {
    const packet = decode("data-fragment-maxdata-ping");
    if (packet.type !== "data") throw new Error("not data");
    expect(packet.frames[0]).toMatchObject({ kind: "message", mode: 1, channel: 1, messageId: 9, fragmentIndex: 2, fragmentCount: 3, totalLength: 10 });
    expect(packet.frames[1]).toEqual({ kind: "max-data", maximum: 8388608 });
    expect(packet.frames[2]).toEqual({ kind: "ping" });
    const close = decode("data-close");
    if (close.type !== "data") throw new Error("not data");
    expect(close.frames[0]).toEqual({ kind: "close", reasonCode: 8, closeCode: 4242, message: new TextEncoder().encode("bye") });
  });

  test("a flipped bit anywhere fails the checksum", () => {
    const bytes = vectors.get("handshake")!.slice();
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] ^= 0x10;
      expect(decodeDatagram(bytes, crc32c)).toEqual({ ok: false, reason: "checksum" });
      bytes[i] ^= 0x10;
    }
  });
});
