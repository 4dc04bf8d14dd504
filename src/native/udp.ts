// Native UDP sockets for the Zig data path (zig/src/udp_socket.zig, zig/src/batch_io.zig).
//
//   openUdpSocket({host, port, reusePort?, v6Only?, recvBufferBytes?, sendBufferBytes?, gro?})
//     -> NativeUdpSocket {fd, localPort, family, recvBufferBytes, sendBufferBytes, gro, close()}
//   Errors throw NativeUdpError with .code ('EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', ...)
//   and a message that says what to do about it.
//
//   BatchReceiveBuffer: one non-blocking recvmmsg per receive() into native slots, GRO
//   buffers split into per-datagram descriptors (for a caller that polls; the receive
//   thread in receiver.ts is the event-driven path).
//
// Buffer sizes are what the kernel reports back (getsockopt), which is twice what was
// granted (the kernel doubles it for bookkeeping). Ports are host numbers here; the
// address records (address.ts) carry them big-endian.
import { type Pointer, toArrayBuffer } from "bun:ffi";
import { NativeStatus } from "./abi.generated.ts";
import { ADDRESS_BYTES, encodeAddress, FAMILY_IPV6 } from "./address.ts";
import { native, nativeStatus, type NativeSymbols } from "./load.ts";

/** The loaded library, or a thrown Error that says why it is not available. */
export function udpNative(): NativeSymbols {
  if (native === null) throw new Error(`native UDP unavailable: ${nativeStatus().reason}`);
  return native;
}

export const OPTION_REUSE_PORT = 1;
export const OPTION_V6_ONLY = 2;
export const OPTION_GRO = 4;

export const STATUS_WOULD_BLOCK: number = NativeStatus.would_block;
const statusCodes: Record<number, string> = {
  [NativeStatus.invalid_argument]: "EINVAL", [NativeStatus.out_of_memory]: "ENOMEM", [NativeStatus.not_supported]: "EAFNOSUPPORT",
  [NativeStatus.would_block]: "EAGAIN", [NativeStatus.socket_error]: "ESOCKET", [NativeStatus.address_in_use]: "EADDRINUSE",
  [NativeStatus.permission_denied]: "EACCES", [NativeStatus.message_too_large]: "EMSGSIZE",
  [NativeStatus.no_buffer_space]: "ENOBUFS", [NativeStatus.bad_address]: "EADDRNOTAVAIL",
};
const errnoNames: Record<number, string> = {
  1: "EPERM", 9: "EBADF", 12: "ENOMEM", 13: "EACCES", 22: "EINVAL", 24: "EMFILE", 90: "EMSGSIZE",
  97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 105: "ENOBUFS",
};

export class NativeUdpError extends Error {
  constructor(readonly code: string, message: string, readonly status: number, readonly errno: number) {
    super(message);
    this.name = "NativeUdpError";
  }
}

function advice(code: string, host: string, port: number): string {
  switch (code) {
    case "EADDRINUSE": return `${host}:${port} is already bound; pick another port, stop the other process, or pass reusePort: true on every socket sharing it`;
    case "EACCES": case "EPERM": return `not allowed to bind ${host}:${port}; ports below 1024 need root or CAP_NET_BIND_SERVICE`;
    case "EADDRNOTAVAIL": return `${host} is not an address of this machine`;
    case "EAFNOSUPPORT": return `this kernel has no ${host.includes(":") ? "IPv6" : "IPv4"} support`;
    case "EMFILE": return "out of file descriptors; raise `ulimit -n`";
    default: return `socket set-up for ${host}:${port} failed`;
  }
}

export function statusError(status: number, what: string, errno = 0): NativeUdpError {
  const code = (errno > 0 ? errnoNames[errno] : undefined) ?? statusCodes[status] ?? `STATUS_${status}`;
  return new NativeUdpError(code, `${what}: ${code} (status ${status}${errno ? `, errno ${errno}` : ""})`, status, errno);
}

export interface UdpSocketOptions {
  host: string;
  port: number;
  reusePort?: boolean;
  /** IPv6 only: refuse IPv4-mapped traffic (default false: dual stack on "::"). */
  v6Only?: boolean;
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  /** Ask for UDP_GRO; `gro` on the result says whether the kernel agreed. */
  gro?: boolean;
}

export interface NativeUdpSocket {
  readonly fd: number;
  readonly localPort: number;
  readonly family: 4 | 6;
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;
  readonly gro: boolean;
  readonly closed: boolean;
  /** Stops attached receive threads first: a thread must never read a reused fd. */
  close(): void;
  /** Runs `hook` at the start of close() (NativeReceiver registers its stop()). */
  onClose(hook: () => void): void;
}

class OpenUdpSocket implements NativeUdpSocket {
  closed = false;
  constructor(
    readonly fd: number, readonly localPort: number, readonly family: 4 | 6,
    readonly recvBufferBytes: number, readonly sendBufferBytes: number, readonly gro: boolean,
  ) {}

  private readonly closeHooks: (() => void)[] = [];

  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const hook of this.closeHooks.splice(0)) hook();
    udpNative().rudp_udp_close(this.fd);
  }
}

export function openUdpSocket(options: UdpSocketOptions): NativeUdpSocket {
  const record = new Uint8Array(ADDRESS_BYTES);
  encodeAddress(options.host, options.port, record, 0);
  const flags = (options.reusePort ? OPTION_REUSE_PORT : 0) | (options.v6Only ? OPTION_V6_ONLY : 0) | (options.gro ? OPTION_GRO : 0);
  const info = new Int32Array(5);
  const fd = udpNative().rudp_udp_open(record, flags, options.recvBufferBytes ?? 0, options.sendBufferBytes ?? 0, info);
  if (fd < 0) {
    const error = statusError(fd, `openUdpSocket(${options.host}:${options.port})`, info[4]!);
    error.message = `${error.message}: ${advice(error.code, options.host, options.port)}`;
    throw error;
  }
  const family = record[0] === FAMILY_IPV6 ? 6 : 4;
  return new OpenUdpSocket(fd, info[0]!, family, info[1]!, info[2]!, info[3] === 1);
}

/** Page-aligned native memory viewed from TS; free() unmaps it (views become invalid). */
export class NativeMemory {
  readonly address: Pointer;
  readonly bytes: Uint8Array;
  private freed = false;

  constructor(readonly byteLength: number) {
    const out = new BigUint64Array(1);
    const status = udpNative().rudp_memory_map(byteLength, out);
    if (status < 0) throw statusError(status, `mmap ${byteLength} bytes`);
    this.address = Number(out[0]) as Pointer;
    this.bytes = new Uint8Array(toArrayBuffer(this.address, 0, byteLength));
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    udpNative().rudp_memory_unmap(this.address, this.byteLength);
  }
}

export const DESCRIPTOR_BYTES = 32;
export const DESCRIPTOR_FLAG_CHECKSUM_OK = 1;
export const DESCRIPTOR_FLAG_CHECKSUM_CHECKED = 2;
/** Most segments one GRO buffer holds (kernel UDP_GRO_CNT_MAX). */
export const GRO_SEGMENTS_MAX = 64;

/**
 * recvmmsg without a thread: receive() fills up to `slots` native slots and returns the
 * number of datagrams (descriptors) or 0 when nothing is waiting. Descriptor i:
 * offset(i), length(i), segmentBytes(i), address record at descriptorBytes[i*32+12..+20].
 */
export class BatchReceiveBuffer {
  readonly memory: NativeMemory;
  readonly descriptorBytes: Uint8Array;
  private readonly descriptorWords: Uint32Array;
  private readonly descriptorHalfWords: Uint16Array;
  private readonly stats = new Uint32Array(4);
  readonly descriptorMax: number;
  buffersReceived = 0;
  truncated = 0;
  descriptorOverflow = 0;
  syscalls = 0;

  constructor(private readonly socket: NativeUdpSocket, readonly slots: number, readonly slotBytes: number) {
    this.memory = new NativeMemory(slots * slotBytes);
    this.descriptorMax = slots * (socket.gro ? GRO_SEGMENTS_MAX : 1);
    this.descriptorBytes = new Uint8Array(this.descriptorMax * DESCRIPTOR_BYTES);
    this.descriptorWords = new Uint32Array(this.descriptorBytes.buffer);
    this.descriptorHalfWords = new Uint16Array(this.descriptorBytes.buffer);
  }

  receive(): number {
    const count = udpNative().rudp_udp_recv_batch(
      this.socket.fd, this.memory.address, this.slotBytes, this.slots, this.descriptorBytes, this.descriptorMax, this.stats,
    );
    this.syscalls++;
    this.buffersReceived += this.stats[0]!;
    this.truncated += this.stats[2]!;
    this.descriptorOverflow += this.stats[3]!;
    if (count === STATUS_WOULD_BLOCK) return 0;
    if (count < 0) throw statusError(count, "recvmmsg");
    return count;
  }

  offset(index: number): number { return this.descriptorWords[index * 8]!; }
  length(index: number): number { return this.descriptorWords[index * 8 + 1]!; }
  segmentBytes(index: number): number { return this.descriptorHalfWords[index * 16 + 4]!; }
  addressOffset(index: number): number { return index * DESCRIPTOR_BYTES + 12; }

  free(): void { this.memory.free(); }
}
