// Each byte layout of src/protocol/wire/ read and written on its own, against the hex vectors
// of docs/PROTOCOL.md §8 (vectors.test.ts checks whole datagrams through the codec; this file
// checks the hot-path encoders and decoders the engine itself calls).
import { describe, expect, test } from "bun:test";
import { cookieMacBytes, cookieMacInput, COOKIE_BYTES, readCookieIssuedUs, writeCookieBytes } from "../../src/protocol/wire/cookie.ts";
import { readDataDestinationHigh, readDataDestinationLow, readDataPacketNumberLow32, writeDataHeader } from "../../src/protocol/wire/dataHeader.ts";
import { writeWholeMessageHeader, wholeMessageHeaderLength, writeMessageHeader } from "../../src/protocol/wire/frames.ts";
import { LongHeader, writeHandshake, writeReject, writeRetry } from "../../src/protocol/wire/longHeader.ts";
import { DATA_HEADER_BYTES, DatagramChecksum, LONG_HEADER_BYTES, checksumMatches } from "../../src/protocol/wire/packet.ts";
import { nodeHmacSha256, verifyCookie, writeCookie } from "../../src/protocol/handshake/cookie.ts";
import { crc32c } from "./pair.ts";
import { readVectors } from "./vectors.test.ts";

const vectors = readVectors();
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const vector = (name: string): Uint8Array => {
  const bytes = vectors.get(name);
  if (bytes === undefined) throw new Error(`vector ${name} missing from docs/PROTOCOL.md`);
  return bytes;
};
const checksum = new DatagramChecksum(crc32c);
const clientHigh = 0x11223344;
const clientLow = 0x55667788;
const serverHigh = 0x99aabbcc;
const serverLow = 0xddeeff00;

describe("DATA header (wire/dataHeader.ts)", () => {
  test("decodes and re-encodes the header of data-ack-messages", () => {
    const bytes = vector("data-ack-messages");
    expect(readDataDestinationHigh(bytes)).toBe(serverHigh);
    expect(readDataDestinationLow(bytes)).toBe(serverLow);
    expect(readDataPacketNumberLow32(bytes)).toBe(42);
    const out = new Uint8Array(DATA_HEADER_BYTES);
    expect(writeDataHeader(out, serverHigh, serverLow, 42)).toBe(DATA_HEADER_BYTES);
    expect(hex(out)).toBe(hex(bytes.subarray(0, DATA_HEADER_BYTES)));
  });

  test("writes only the low 32 bits of a 53-bit packet number", () => {
    const out = new Uint8Array(DATA_HEADER_BYTES);
    writeDataHeader(out, serverHigh, serverLow, 2 ** 40 + 44);
    expect(readDataPacketNumberLow32(out)).toBe(44);
  });
});

describe("MESSAGE frame header (wire/frames.ts)", () => {
  test("the whole-message fast path writes the bytes of the general encoder and of the vector", () => {
    const bytes = vector("data-ack-messages");
    // "10 07 05 03 616263" after the header and the 9-byte ACK frame.
    const frameAt = DATA_HEADER_BYTES + 9;
    const fast = new Uint8Array(16);
    const general = new Uint8Array(16);
    const end = writeWholeMessageHeader(fast, 0, 0, 7, 5, 3);
    expect(end).toBe(wholeMessageHeaderLength(5, 3));
    expect(writeMessageHeader(general, 0, 0, 7, 5, 0, 1, 3, 3)).toBe(end);
    expect(hex(fast.subarray(0, end))).toBe(hex(bytes.subarray(frameAt, frameAt + end)));
    expect(hex(general.subarray(0, end))).toBe(hex(fast.subarray(0, end)));
    // "16 c8 412c 00": unreliable-sequenced, channel 200, id 300 (two-byte varint), empty.
    const second = writeWholeMessageHeader(fast, 0, 3, 200, 300, 0);
    expect(hex(fast.subarray(0, second))).toBe("16c8412c00");
  });
});

describe("long header (wire/longHeader.ts)", () => {
  test("parses the handshake vector and writes it back byte for byte", () => {
    const bytes = vector("handshake");
    const header = new LongHeader();
    expect(header.parse(bytes)).toBe(true);
    expect([header.type, header.version, header.destinationHigh, header.destinationLow, header.sourceHigh, header.sourceLow])
      .toEqual([0x03, 1, clientHigh, clientLow, serverHigh, serverLow]);
    expect(header.reader.varint()).toBe(4 * 1024 * 1024);
    expect(header.reader.varint()).toBe(25_000);
    const out = new Uint8Array(64);
    expect(hex(out.subarray(0, writeHandshake(out, checksum, 1, clientHigh, clientLow, serverHigh, serverLow, 4 * 1024 * 1024, 25_000)))).toBe(hex(bytes));
  });

  test("retry and reject vectors come out of their writers", () => {
    const out = new Uint8Array(128);
    const retry = vector("retry");
    const cookie = retry.subarray(LONG_HEADER_BYTES + 1, LONG_HEADER_BYTES + 1 + COOKIE_BYTES);
    expect(hex(out.subarray(0, writeRetry(out, checksum, 1, clientHigh, clientLow, cookie)))).toBe(hex(retry));
    expect(hex(out.subarray(0, writeReject(out, checksum, 1, clientHigh, clientLow, 6)))).toBe(hex(vector("reject")));
  });
});

describe("cookie (wire/cookie.ts, handshake/cookie.ts)", () => {
  const secret = new TextEncoder().encode("bun-rudp vectors");
  const from = { family: 4, host: "10.0.0.2", port: 5000 } as const;
  const key = { secret, hmac: nodeHmacSha256 };

  test("the MAC input has the documented layout", () => {
    expect(hex(cookieMacInput(1, from, clientHigh, clientLow, 1_000_000))).toBe(hex(vector("cookie-mac-input")));
  });

  test("the cookie is issuedUs then the truncated HMAC, as documented", () => {
    const expected = vector("cookie");
    expect(readCookieIssuedUs(expected, 0)).toBe(1_000_000);
    const out = new Uint8Array(COOKIE_BYTES);
    expect(writeCookie(out, 0, key, 1, from, clientHigh, clientLow, 1_000_000)).toBe(COOKIE_BYTES);
    expect(hex(out)).toBe(hex(expected));
    const again = new Uint8Array(COOKIE_BYTES);
    writeCookieBytes(again, 0, readCookieIssuedUs(expected, 0), cookieMacBytes(expected, 0));
    expect(hex(again)).toBe(hex(expected));
    expect(verifyCookie(expected, 0, COOKIE_BYTES, key, 1, from, clientHigh, clientLow, 1_500_000, 10_000_000)).toBe("valid");
    expect(verifyCookie(expected, 0, COOKIE_BYTES, key, 1, { ...from, port: 5001 }, clientHigh, clientLow, 1_500_000, 10_000_000)).toBe("bad-cookie");
  });

  test("the MAC function comes from the key: another function gives another cookie", () => {
    const other = { secret, hmac: (k: Uint8Array, m: Uint8Array) => nodeHmacSha256(k, m).map((b) => b ^ 0xff) };
    const out = new Uint8Array(COOKIE_BYTES);
    writeCookie(out, 0, other, 1, from, clientHigh, clientLow, 1_000_000);
    expect(hex(out)).not.toBe(hex(vector("cookie")));
    expect(verifyCookie(out, 0, COOKIE_BYTES, other, 1, from, clientHigh, clientLow, 1_000_000, 10_000_000)).toBe("valid");
    expect(verifyCookie(out, 0, COOKIE_BYTES, key, 1, from, clientHigh, clientLow, 1_000_000, 10_000_000)).toBe("bad-cookie");
  });
});

describe("checksum (wire/packet.ts)", () => {
  test("a prefix checksum covers data[0..length), not the whole buffer", () => {
    const bytes = vector("reject");
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes);
    const prefixOnly = new DatagramChecksum(() => {
      throw new Error("the prefix function, not crc32c, must be used");
    }, (data, length) => crc32c(data.subarray(0, length)));
    expect(checksumMatches(bytes, prefixOnly)).toBe(true);
    expect(prefixOnly.of(padded, bytes.length - 4)).toBe(checksum.of(bytes, bytes.length - 4));
  });
});
