// Stateless address-validation cookie (docs/PROTOCOL.md §3; byte layout in wire/cookie.ts).
// The server MACs what it must later trust (client address, port, version, client connection
// ID, issue time) with its secret, sends it in RETRY and forgets; a returning INITIAL proves
// the client can receive at that address. The MAC function comes in through the engine's
// dependencies (default HMAC-SHA256 via node:crypto): run once per handshake only.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { PeerAddress } from "../api.ts";
import { COOKIE_BYTES, COOKIE_MAC_BYTES, cookieMacBytes, cookieMacInput, readCookieIssuedUs, writeCookieBytes } from "../wire/cookie.ts";

export type CookieVerdict = "valid" | "bad-cookie" | "expired-cookie";

/** HMAC-SHA256(key, message); at least COOKIE_MAC_BYTES long. */
export type HmacSha256 = (key: Uint8Array, message: Uint8Array) => Uint8Array;

export const nodeHmacSha256: HmacSha256 = (key, message) => new Uint8Array(createHmac("sha256", key).update(message).digest());

/** The cookie MAC keyed by the server's secret. */
export interface CookieKey {
  readonly secret: Uint8Array;
  readonly hmac: HmacSha256;
}

function cookieMac(key: CookieKey, version: number, from: PeerAddress, cidHigh: number, cidLow: number, issuedUs: number): Uint8Array {
  return key.hmac(key.secret, cookieMacInput(version, from, cidHigh, cidLow, issuedUs)).subarray(0, COOKIE_MAC_BYTES);
}

/** Writes a cookie at out[pos..pos+COOKIE_BYTES); returns the position after it. */
export function writeCookie(out: Uint8Array, pos: number, key: CookieKey, version: number, from: PeerAddress,
    cidHigh: number, cidLow: number, nowUs: number): number {
  const issuedUs = Math.floor(nowUs);
  return writeCookieBytes(out, pos, issuedUs, cookieMac(key, version, from, cidHigh, cidLow, issuedUs));
}

export function verifyCookie(data: Uint8Array, pos: number, length: number, key: CookieKey, version: number, from: PeerAddress,
    cidHigh: number, cidLow: number, nowUs: number, lifetimeUs: number): CookieVerdict {
  if (length !== COOKIE_BYTES) return "bad-cookie";
  const issuedUs = readCookieIssuedUs(data, pos);
  const expected = cookieMac(key, version, from, cidHigh, cidLow, issuedUs);
  if (expected.length !== COOKIE_MAC_BYTES || !timingSafeEqual(expected, cookieMacBytes(data, pos))) return "bad-cookie";
  // A cookie from the future means a forged or replayed clock: treat as expired.
  if (nowUs - issuedUs > lifetimeUs || issuedUs > nowUs + 1) return "expired-cookie";
  return "valid";
}
