// Compact peer address record, the same 20 bytes as zig/src/address.zig:
//   byte 0      family: 0 none, 4 IPv4, 6 IPv6
//   byte 1      reserved (0)
//   bytes 2..4  port, network byte order (big-endian)
//   bytes 4..20 address bytes; IPv4 uses 4..8 and leaves the rest zero
// addressKey() gives a Number for IPv4 (no allocation on the receive path) and a string
// only for IPv6, so a Map keyed by it finds a peer without building strings per packet.

export const ADDRESS_BYTES = 20;
export const FAMILY_NONE = 0;
export const FAMILY_IPV4 = 4;
export const FAMILY_IPV6 = 6;

export interface DecodedAddress {
  family: 4 | 6;
  host: string;
  port: number;
}

export class AddressError extends Error {
  readonly code = "EINVAL";
}

function parseIpv4(host: string, out: Uint8Array, offset: number): boolean {
  const parts = host.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part)) return false;
    const value = Number(part);
    if (value > 255) return false;
    out[offset + i] = value;
  }
  return true;
}

function parseHexGroups(text: string, groups: number[]): boolean {
  if (text === "") return true;
  for (const group of text.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return false;
    groups.push(parseInt(group, 16));
  }
  return true;
}

/** Writes the 16 bytes of an IPv6 literal (with optional embedded IPv4 tail). */
function parseIpv6(host: string, out: Uint8Array, offset: number): boolean {
  let text = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone); // scope ids are not kept (see zig/src/address.zig)
  const tail = new Uint8Array(4);
  let tailGroups = 0;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    if (!parseIpv4(text.slice(lastColon + 1), tail, 0)) return false;
    text = text.slice(0, lastColon + 1) + "0:0";
    tailGroups = 2;
  }
  const head: number[] = [];
  const rest: number[] = [];
  const gap = text.indexOf("::");
  if (gap >= 0) {
    if (text.indexOf("::", gap + 1) >= 0) return false;
    if (!parseHexGroups(text.slice(0, gap), head) || !parseHexGroups(text.slice(gap + 2), rest)) return false;
    if (head.length + rest.length > 7) return false;
  } else {
    if (!parseHexGroups(text, head) || head.length !== 8) return false;
  }
  const groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  for (let i = 0; i < 8; i++) {
    out[offset + 2 * i] = groups[i]! >> 8;
    out[offset + 2 * i + 1] = groups[i]! & 0xff;
  }
  if (tailGroups > 0) out.set(tail, offset + 12);
  return true;
}

/** Writes the record for host:port at out[offset..offset+20]. Throws AddressError. */
export function encodeAddress(host: string, port: number, out: Uint8Array, offset: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AddressError(`port ${port} is not in 0..65535`);
  if (offset < 0 || offset + ADDRESS_BYTES > out.length) throw new AddressError("address record does not fit in the buffer");
  out.fill(0, offset, offset + ADDRESS_BYTES);
  const name = host === "localhost" ? "127.0.0.1" : host;
  if (parseIpv4(name, out, offset + 4)) {
    out[offset] = FAMILY_IPV4;
  } else if (parseIpv6(name, out, offset + 4)) {
    out[offset] = FAMILY_IPV6;
  } else {
    out.fill(0, offset, offset + ADDRESS_BYTES);
    throw new AddressError(`"${host}" is not an IPv4 or IPv6 literal (resolve names before calling)`);
  }
  out[offset + 2] = port >> 8;
  out[offset + 3] = port & 0xff;
}

/** IPv4: ip * 65536 + port (a Number, exact below 2^53). IPv6: "[hex]:port" string. */
export function addressKey(bytes: Uint8Array, offset: number): number | string {
  const port = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  if (bytes[offset] === FAMILY_IPV4) {
    const ip = bytes[offset + 4]! * 16777216 + ((bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!);
    return ip * 65536 + port;
  }
  let key = "";
  for (let i = 4; i < 20; i += 2) key += ((bytes[offset + i]! << 8) | bytes[offset + i + 1]!).toString(16) + ":";
  return key + port;
}

function formatIpv6(bytes: Uint8Array, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // RFC 5952: only runs of two or more zero groups become "::"
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLength).join(":");
}

/** Record -> {family, host, port}; allocates, so not for per-packet use. */
export function decodeAddress(bytes: Uint8Array, offset: number): DecodedAddress {
  const port = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  const family = bytes[offset];
  if (family === FAMILY_IPV4) {
    return { family: 4, host: `${bytes[offset + 4]}.${bytes[offset + 5]}.${bytes[offset + 6]}.${bytes[offset + 7]}`, port };
  }
  if (family === FAMILY_IPV6) return { family: 6, host: formatIpv6(bytes, offset + 4), port };
  throw new AddressError(`address record has unknown family ${family}`);
}

/** Copies one record (e.g. from a receive descriptor into a send slot). */
export function copyAddress(from: Uint8Array, fromOffset: number, to: Uint8Array, toOffset: number): void {
  to.set(from.subarray(fromOffset, fromOffset + ADDRESS_BYTES), toOffset);
}
