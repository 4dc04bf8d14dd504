// Byte layout of the stateless address-validation cookie (docs/PROTOCOL.md §3):
//   cookie    = issuedUs(8, BE) | MAC(16)
//   MAC input = version(4) | clientId(8) | port(2) | family(1) | issuedUs(8) | host as UTF-8
// The MAC itself (HMAC-SHA256 truncated to 16 bytes) and the validity policy live in
// handshake/cookie.ts; this file only says where each byte goes.
import type { PeerAddress } from "../api.ts";
import { readU32be, writeU32be } from "./packet.ts";

export const COOKIE_TIMESTAMP_BYTES = 8;
export const COOKIE_MAC_BYTES = 16;
export const COOKIE_BYTES = COOKIE_TIMESTAMP_BYTES + COOKIE_MAC_BYTES;
const MAC_INPUT_FIXED_BYTES = 4 + 8 + 2 + 1 + 8;
const UTF8 = new TextEncoder();

function writeU64be(out: Uint8Array, pos: number, value: number): number {
  writeU32be(out, pos, Math.floor(value / 0x100000000));
  return writeU32be(out, pos + 4, value >>> 0);
}

/** The bytes the server MACs: what it must trust when the cookie comes back. */
export function cookieMacInput(version: number, from: PeerAddress, cidHigh: number, cidLow: number, issuedUs: number): Uint8Array {
  const host = UTF8.encode(from.host);
  const input = new Uint8Array(MAC_INPUT_FIXED_BYTES + host.length);
  writeU32be(input, 0, version);
  writeU32be(input, 4, cidHigh);
  writeU32be(input, 8, cidLow);
  input[12] = from.port >>> 8;
  input[13] = from.port & 0xff;
  input[14] = from.family;
  writeU64be(input, 15, issuedUs);
  input.set(host, MAC_INPUT_FIXED_BYTES);
  return input;
}

/** Writes issuedUs and the first COOKIE_MAC_BYTES of `mac` at out[pos..); returns the end. */
export function writeCookieBytes(out: Uint8Array, pos: number, issuedUs: number, mac: Uint8Array): number {
  writeU64be(out, pos, issuedUs);
  out.set(mac.subarray(0, COOKIE_MAC_BYTES), pos + COOKIE_TIMESTAMP_BYTES);
  return pos + COOKIE_BYTES;
}

export function readCookieIssuedUs(data: Uint8Array, pos: number): number {
  return readU32be(data, pos) * 0x100000000 + readU32be(data, pos + 4);
}

export function cookieMacBytes(data: Uint8Array, pos: number): Uint8Array {
  return data.subarray(pos + COOKIE_TIMESTAMP_BYTES, pos + COOKIE_BYTES);
}
