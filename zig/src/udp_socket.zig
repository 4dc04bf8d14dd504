//! UDP socket set-up for the native data path: open + bind IPv4/IPv6, non-blocking,
//! SO_REUSEPORT, buffer sizes (forced when privileged), IPV6_V6ONLY, UDP_GRO.
//! Raw syscalls (std.os.linux) so errno values map one-to-one onto Status codes.
const std = @import("std");
const linux = std.os.linux;
const Status = @import("status.zig").Status;
const address = @import("address.zig");

/// Bits of the `options` argument of rudp_udp_open.
pub const option_reuse_port: u32 = 1 << 0;
pub const option_v6_only: u32 = 1 << 1;
pub const option_gro: u32 = 1 << 2;

/// Slots of the `info` array filled by rudp_udp_open (i32 each).
pub const info_local_port = 0;
pub const info_recv_buffer_bytes = 1;
pub const info_send_buffer_bytes = 2;
pub const info_gro_enabled = 3;
pub const info_errno = 4;
pub const info_slots = 5;

pub fn statusFromErrno(errno: linux.E) Status {
    return switch (errno) {
        .ADDRINUSE => .address_in_use,
        .ACCES, .PERM => .permission_denied,
        .ADDRNOTAVAIL, .FAULT, .DESTADDRREQ => .bad_address,
        .AFNOSUPPORT, .PROTONOSUPPORT, .OPNOTSUPP => .not_supported,
        .NOMEM => .out_of_memory,
        .NOBUFS => .no_buffer_space,
        .AGAIN => .would_block,
        .MSGSIZE => .message_too_large,
        .INVAL, .BADF, .NOTSOCK => .invalid_argument,
        else => .socket_error,
    };
}

fn setIntOption(fd: i32, level: i32, name: u32, value: c_int) linux.E {
    return linux.E.init(linux.setsockopt(fd, level, name, std.mem.asBytes(&value), @sizeOf(c_int)));
}

fn getIntOption(fd: i32, level: i32, name: u32) c_int {
    var value: c_int = -1;
    var length: linux.socklen_t = @sizeOf(c_int);
    if (linux.E.init(linux.getsockopt(fd, level, name, std.mem.asBytes(&value), &length)) != .SUCCESS) return -1;
    return value;
}

/// The FORCE variant ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; fall back to
/// the plain option (silently capped by the kernel) when it is refused.
fn setBufferBytes(fd: i32, force_name: u32, plain_name: u32, bytes: i32) void {
    if (bytes <= 0) return;
    if (setIntOption(fd, linux.SOL.SOCKET, force_name, bytes) == .SUCCESS) return;
    _ = setIntOption(fd, linux.SOL.SOCKET, plain_name, bytes);
}

pub fn localPort(fd: i32) c_int {
    var storage: linux.sockaddr.storage = undefined;
    var length: linux.socklen_t = @sizeOf(linux.sockaddr.storage);
    const errno = linux.E.init(linux.getsockname(fd, @ptrCast(&storage), &length));
    if (errno != .SUCCESS) return @intFromEnum(statusFromErrno(errno));
    var record: address.Record = undefined;
    address.fromSocketAddress(&storage, length, &record);
    return (@as(c_int, record[2]) << 8) | record[3];
}

fn fail(fd: i32, info: [*]i32, errno: linux.E) c_int {
    if (fd >= 0) _ = linux.close(fd);
    info[info_errno] = @intCast(@intFromEnum(errno));
    return @intFromEnum(statusFromErrno(errno));
}

/// Opens a non-blocking UDP socket bound to `bind_address` (a 20-byte address record).
/// Returns the fd (>= 0) or a negative Status; `info` (info_slots i32) receives the local
/// port, buffer sizes actually obtained (as getsockopt reports them, i.e. doubled by the
/// kernel), whether UDP_GRO is on, and the errno of a failure.
pub export fn rudp_udp_open(bind_address: [*]const u8, options: u32, recv_buffer_bytes: i32, send_buffer_bytes: i32, info: [*]i32) c_int {
    @memset(info[0..info_slots], 0);
    const record: *const address.Record = bind_address[0..address.record_bytes];
    const socket_address = address.toSocketAddress(record) orelse return @intFromEnum(Status.invalid_argument);
    const family: u32 = if (record[0] == address.family_ipv6) linux.AF.INET6 else linux.AF.INET;

    const rc = linux.socket(family, linux.SOCK.DGRAM | linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC, linux.IPPROTO.UDP);
    const socket_errno = linux.E.init(rc);
    if (socket_errno != .SUCCESS) return fail(-1, info, socket_errno);
    const fd: i32 = @intCast(rc);

    if (options & option_reuse_port != 0) {
        const errno = setIntOption(fd, linux.SOL.SOCKET, linux.SO.REUSEPORT, 1);
        if (errno != .SUCCESS) return fail(fd, info, errno);
    }
    if (family == linux.AF.INET6) {
        const v6_only: c_int = if (options & option_v6_only != 0) 1 else 0;
        const errno = setIntOption(fd, linux.IPPROTO.IPV6, linux.IPV6.V6ONLY, v6_only);
        if (errno != .SUCCESS) return fail(fd, info, errno);
    }
    setBufferBytes(fd, linux.SO.RCVBUFFORCE, linux.SO.RCVBUF, recv_buffer_bytes);
    setBufferBytes(fd, linux.SO.SNDBUFFORCE, linux.SO.SNDBUF, send_buffer_bytes);
    if (options & option_gro != 0) {
        // A kernel without UDP_GRO (< 5.0) refuses it: not fatal, reported as gro off.
        if (setIntOption(fd, linux.IPPROTO.UDP, linux.UDP.GRO, 1) == .SUCCESS) info[info_gro_enabled] = 1;
    }

    const bind_errno = linux.E.init(linux.bind(fd, socket_address.pointer(), socket_address.length));
    if (bind_errno != .SUCCESS) return fail(fd, info, bind_errno);

    info[info_local_port] = localPort(fd);
    info[info_recv_buffer_bytes] = getIntOption(fd, linux.SOL.SOCKET, linux.SO.RCVBUF);
    info[info_send_buffer_bytes] = getIntOption(fd, linux.SOL.SOCKET, linux.SO.SNDBUF);
    return fd;
}

export fn rudp_udp_local_port(fd: i32) c_int {
    return localPort(fd);
}

export fn rudp_udp_close(fd: i32) c_int {
    const errno = linux.E.init(linux.close(fd));
    if (errno != .SUCCESS) return @intFromEnum(statusFromErrno(errno));
    return 0;
}

/// Turns UDP_GRO on (1) or off (0) after open; returns 0 or a negative Status.
export fn rudp_udp_set_gro(fd: i32, enabled: i32) c_int {
    const errno = setIntOption(fd, linux.IPPROTO.UDP, linux.UDP.GRO, if (enabled != 0) 1 else 0);
    if (errno != .SUCCESS) return @intFromEnum(statusFromErrno(errno));
    return 0;
}

test "open, bind, read back the port, refuse a second bind without reuse-port" {
    var record: address.Record = [_]u8{0} ** address.record_bytes;
    record[0] = address.family_ipv4;
    record[4..8].* = .{ 127, 0, 0, 1 };
    var info: [info_slots]i32 = undefined;
    const fd = rudp_udp_open(&record, option_gro, 1 << 20, 1 << 20, &info);
    try std.testing.expect(fd >= 0);
    defer _ = rudp_udp_close(fd);
    try std.testing.expect(info[info_local_port] > 0);
    try std.testing.expect(info[info_recv_buffer_bytes] > 0);

    const port: u16 = @intCast(info[info_local_port]);
    record[2..4].* = @bitCast(std.mem.nativeToBig(u16, port));
    var info2: [info_slots]i32 = undefined;
    try std.testing.expectEqual(@intFromEnum(Status.address_in_use), rudp_udp_open(&record, 0, 0, 0, &info2));
}
