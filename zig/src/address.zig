//! Compact peer address: a fixed 20-byte record that crosses the C ABI and sits inside
//! every receive descriptor, so TypeScript can key peers without parsing sockaddrs.
//!
//!   byte 0      family: 0 = none, 4 = IPv4, 6 = IPv6 (not AF_* values: the same on every OS)
//!   byte 1      reserved, 0
//!   bytes 2..4  port, NETWORK byte order (big-endian), copied as-is from the sockaddr
//!   bytes 4..20 address; IPv4 uses bytes 4..8 and leaves 8..20 zero
//!
//! IPv6 flowinfo and scope_id are not kept: the library binds loopback/global addresses
//! only; link-local peers with a scope would need a wider record.
const std = @import("std");
const linux = std.os.linux;

pub const record_bytes = 20;
pub const family_none: u8 = 0;
pub const family_ipv4: u8 = 4;
pub const family_ipv6: u8 = 6;

pub const Record = [record_bytes]u8;

/// A sockaddr big enough for IPv4 and IPv6, with its length.
pub const SocketAddress = struct {
    storage: linux.sockaddr.storage = undefined,
    length: linux.socklen_t = 0,

    pub fn pointer(self: *const SocketAddress) *const linux.sockaddr {
        return @ptrCast(&self.storage);
    }
};

/// Record -> sockaddr. Returns null for an unknown family (caller reports invalid_argument).
pub fn toSocketAddress(record: *const Record) ?SocketAddress {
    var result = SocketAddress{};
    @memset(std.mem.asBytes(&result.storage), 0);
    const port_network: u16 = @bitCast([2]u8{ record[2], record[3] });
    switch (record[0]) {
        family_ipv4 => {
            const in: *linux.sockaddr.in = @ptrCast(&result.storage);
            in.* = .{ .port = port_network, .addr = @bitCast([4]u8{ record[4], record[5], record[6], record[7] }) };
            result.length = @sizeOf(linux.sockaddr.in);
        },
        family_ipv6 => {
            const in6: *linux.sockaddr.in6 = @ptrCast(&result.storage);
            in6.* = .{ .port = port_network, .flowinfo = 0, .addr = record[4..20].*, .scope_id = 0 };
            result.length = @sizeOf(linux.sockaddr.in6);
        },
        else => return null,
    }
    return result;
}

/// sockaddr -> record. An unknown family gives family_none with zero bytes.
pub fn fromSocketAddress(storage: *const anyopaque, length: linux.socklen_t, record: *Record) void {
    @memset(record, 0);
    const generic: *const linux.sockaddr = @ptrCast(@alignCast(storage));
    if (generic.family == linux.AF.INET and length >= @sizeOf(linux.sockaddr.in)) {
        const in: *const linux.sockaddr.in = @ptrCast(@alignCast(storage));
        record[0] = family_ipv4;
        record[2..4].* = @bitCast(in.port);
        record[4..8].* = @bitCast(in.addr);
    } else if (generic.family == linux.AF.INET6 and length >= @sizeOf(linux.sockaddr.in6)) {
        const in6: *const linux.sockaddr.in6 = @ptrCast(@alignCast(storage));
        record[0] = family_ipv6;
        record[2..4].* = @bitCast(in6.port);
        record[4..20].* = in6.addr;
    }
}

test "address record round-trips IPv4 and IPv6" {
    var record: Record = [_]u8{0} ** record_bytes;
    record[0] = family_ipv4;
    record[2] = 0x1f;
    record[3] = 0x90; // 8080
    record[4..8].* = .{ 127, 0, 0, 1 };
    const socket_address = toSocketAddress(&record).?;
    const in: *const linux.sockaddr.in = @ptrCast(&socket_address.storage);
    try std.testing.expectEqual(@as(u16, 8080), std.mem.bigToNative(u16, in.port));
    var back: Record = undefined;
    fromSocketAddress(&socket_address.storage, socket_address.length, &back);
    try std.testing.expectEqualSlices(u8, &record, &back);

    record = [_]u8{0} ** record_bytes;
    record[0] = family_ipv6;
    record[3] = 53;
    record[19] = 1; // ::1
    const socket_address6 = toSocketAddress(&record).?;
    fromSocketAddress(&socket_address6.storage, socket_address6.length, &back);
    try std.testing.expectEqualSlices(u8, &record, &back);

    record[0] = 9;
    try std.testing.expect(toSocketAddress(&record) == null);
}
