// Stateless address-validation cookie (docs/PROTOCOL.md §3). The server MACs what it must
// later trust (client address, port, version, client connection ID, issue time) with its
// secret, sends it in RETRY and forgets; a returning INITIAL proves the client can receive at
// that address. HMAC-SHA256 via node:crypto: a pure function, run once per handshake only.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { PeerAddress } from "../api.ts";
import { readU32be, writeU32be } from "../wire/packet.ts";

export const COOKIE_TIMESTAMP_BYTES = 8;
export const COOKIE_MAC_BYTES = 16;
export const COOKIE_BYTES = COOKIE_TIMESTAMP_BYTES + COOKIE_MAC_BYTES;

export type CookieVerdict = "valid" | "bad-cookie" | "expired-cookie";

function cookieMac(secret: Uint8Array, version: number, from: PeerAddress, cidHigh: number, cidLow: number, issuedUs: number): Uint8Array {
  const fixed = new Uint8Array(4 + 8 + 2 + 1 + 8);
  writeU32be(fixed, 0, version);
  writeU32be(fixed, 4, cidHigh);
  writeU32be(fixed, 8, cidLow);
  fixed[12] = from.port >>> 8;
  fixed[13] = from.port & 0xff;
  fixed[14] = from.family;
  writeU32be(fixed, 15, Math.floor(issuedUs / 0x100000000));
  writeU32be(fixed, 19, issuedUs >>> 0);
  const hmac = createHmac("sha256", secret);
  hmac.update(fixed);
  hmac.update(from.host);
  return new Uint8Array(hmac.digest().buffer, 0, COOKIE_MAC_BYTES);
}

/** Writes a cookie at out[pos..pos+COOKIE_BYTES); returns the position after it. */
export function writeCookie(
  out: Uint8Array,
  pos: number,
  secret: Uint8Array,
  version: number,
  from: PeerAddress,
  cidHigh: number,
  cidLow: number,
  nowUs: number,
): number {
  const issuedUs = Math.floor(nowUs);
  writeU32be(out, pos, Math.floor(issuedUs / 0x100000000));
  writeU32be(out, pos + 4, issuedUs >>> 0);
  out.set(cookieMac(secret, version, from, cidHigh, cidLow, issuedUs), pos + COOKIE_TIMESTAMP_BYTES);
  return pos + COOKIE_BYTES;
}

export function verifyCookie(
  data: Uint8Array,
  pos: number,
  length: number,
  secret: Uint8Array,
  version: number,
  from: PeerAddress,
  cidHigh: number,
  cidLow: number,
  nowUs: number,
  lifetimeUs: number,
): CookieVerdict {
  if (length !== COOKIE_BYTES) return "bad-cookie";
  const issuedUs = readU32be(data, pos) * 0x100000000 + readU32be(data, pos + 4);
  const expected = cookieMac(secret, version, from, cidHigh, cidLow, issuedUs);
  const given = data.subarray(pos + COOKIE_TIMESTAMP_BYTES, pos + COOKIE_BYTES);
  if (!timingSafeEqual(expected, given)) return "bad-cookie";
  // A cookie from the future means a forged or replayed clock: treat as expired.
  if (nowUs - issuedUs > lifetimeUs || issuedUs > nowUs + 1) return "expired-cookie";
  return "valid";
}
