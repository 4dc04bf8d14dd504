// The KCP segment codec against byte vectors written by the reference ikcp.c (skywind3000/kcp,
// ikcp_send + ikcp_update at t=1000 ms, nodelay 1, mtu 60, conv 0x11223344; docs/KCP.md).
import { describe, expect, test } from "bun:test";
import {
  checkDatagram,
  crc32Ieee,
  emptySegmentHeader,
  KcpCommand,
  readSegmentHeader,
  SEGMENT_HEADER_BYTES,
  writeSegmentHeader,
} from "../../src/protocol/kcp/segment.ts";
import { hex, ikcpVectors } from "./vectors.ts";

describe("KCP segment header", () => {
  test("decodes ikcp.c's PUSH byte for byte", () => {
    const header = emptySegmentHeader();
    readSegmentHeader(hex(ikcpVectors.hello), 0, header);
    expect(header).toEqual({ conv: 0x11223344, cmd: KcpCommand.push, frg: 0, wnd: 128, ts: 1000, sn: 0, una: 0, len: 5 });
    readSegmentHeader(hex(ikcpVectors.fragment1), 0, header);
    expect(header).toEqual({ conv: 0x11223344, cmd: 81, frg: 1, wnd: 128, ts: 1000, sn: 1, una: 0, len: 36 });
  });

  test("encodes the same bytes as ikcp.c", () => {
    const out = new Uint8Array(SEGMENT_HEADER_BYTES);
    writeSegmentHeader(out, 0, 0x11223344, KcpCommand.push, 0, 128, 1000, 0, 0, 5);
    expect(Buffer.from(out).toString("hex")).toBe(ikcpVectors.hello.slice(0, 48));
  });

  test("round-trips extreme field values (u32 wrap, u16 window)", () => {
    const out = new Uint8Array(SEGMENT_HEADER_BYTES);
    writeSegmentHeader(out, 0, 0xffffffff, KcpCommand.windowTell, 255, 0xffff, 0xfffffffe, 0x80000000, 0xffffffff, 0);
    const header = emptySegmentHeader();
    readSegmentHeader(out, 0, header);
    expect(header).toEqual({ conv: 0xffffffff, cmd: 84, frg: 255, wnd: 0xffff, ts: 0xfffffffe, sn: 0x80000000, una: 0xffffffff, len: 0 });
  });
});

describe("checkDatagram: plain KCP or a counted reason", () => {
  const first = emptySegmentHeader();
  const scratch = emptySegmentHeader();
  const check = (data: Uint8Array) => checkDatagram(data, data.length, first, scratch);

  test("accepts one segment and several back to back", () => {
    expect(check(hex(ikcpVectors.hello))).toBeNull();
    expect(check(hex(ikcpVectors.fragment1 + ikcpVectors.fragment0))).toBeNull();
    expect(first.sn).toBe(1);
  });

  test("refuses a short tail, a bad command, a length past the end, a second conv", () => {
    expect(check(hex(ikcpVectors.hello + "00"))).toBe("malformed");
    const badCommand = hex(ikcpVectors.hello);
    badCommand[4] = 80;
    expect(check(badCommand)).toBe("malformed");
    expect(check(hex(ikcpVectors.hello).subarray(0, 28))).toBe("malformed");
    const otherConv = hex(ikcpVectors.hello + ikcpVectors.hello);
    otherConv[29] ^= 1;
    expect(check(otherConv)).toBe("malformed");
    expect(check(new Uint8Array(10))).toBe("malformed");
  });

  test("names kcp-go's FEC packets", () => {
    // kcp-go FEC: seqid u32, type u16 (0xf1 data, 0xf2 parity), then size u16 and the KCP packet.
    const fec = new Uint8Array(8 + 29);
    fec.set([1, 0, 0, 0, 0xf1, 0x00, 29 + 2, 0]);
    fec.set(hex(ikcpVectors.hello), 8);
    expect(check(fec)).toBe("fec-unsupported");
    fec[4] = 0xf2;
    expect(check(fec)).toBe("fec-unsupported");
  });

  test("names kcp-go's crypt header when the cipher is none (nonce, CRC32, KCP)", () => {
    const kcp = hex(ikcpVectors.hello);
    const packet = new Uint8Array(20 + kcp.length);
    packet.fill(0xa5, 0, 16); // nonce
    packet.set(kcp, 20);
    new DataView(packet.buffer).setUint32(16, crc32Ieee(packet, 20, packet.length), true);
    expect(check(packet)).toBe("crypt-unsupported");
    packet[16] ^= 0xff; // with a real cipher nothing is recognisable: just not KCP
    expect(check(packet)).toBe("malformed");
  });

  test("CRC-32 (IEEE) check value", () => {
    const text = new TextEncoder().encode("123456789");
    expect(crc32Ieee(text, 0, text.length)).toBe(0xcbf43926);
  });
});
