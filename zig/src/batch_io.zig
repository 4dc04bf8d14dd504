//! Batch UDP I/O: recvmmsg with UDP_GRO (coalesced buffers split back into datagrams)
//! and sendmmsg with UDP_SEGMENT (GSO) for runs of same-destination, same-size datagrams.
//! The packet count, not the byte count, is the cost on these machines, so every kernel
//! crossing carries as many datagrams as it can.
const std = @import("std");
const linux = std.os.linux;
const Status = @import("status.zig").Status;
const address = @import("address.zig");
const udp_socket = @import("udp_socket.zig");

/// Messages per recvmmsg/sendmmsg call.
pub const messages_per_call_max = 64;
/// Kernel limits for one GSO send: UDP_MAX_SEGMENTS is 64 on older kernels (128 on new
/// ones), and one UDP payload is at most 65535 - 8 (UDP) - 20 (IPv4) bytes.
pub const gso_segments_max = 64;
pub const gso_payload_bytes_max = 65507;
/// iovecs per sendmmsg call (bounds the stack scratch).
const send_iovecs_max = 512;

const sol_udp = 17;
const udp_segment = linux.UDP.SEGMENT;
const udp_gro = linux.UDP.GRO;

/// One received datagram as the TypeScript side sees it (32 bytes, little-endian):
///   u32 offset         byte offset of the datagram in the receive buffer / slab
///   u32 length         datagram bytes
///   u16 segment_bytes  GRO segment size of the buffer it was split from, 0 if not coalesced
///   u8  flags          bit0 checksum ok, bit1 checksum checked
///   u8  reserved
///   [20]u8 address     compact source address (address.zig)
pub const Descriptor = extern struct {
    offset: u32,
    length: u32,
    segment_bytes: u16,
    flags: u8,
    reserved: u8 = 0,
    address: address.Record,

    pub const flag_checksum_ok: u8 = 1;
    pub const flag_checksum_checked: u8 = 2;
};
comptime {
    std.debug.assert(@sizeOf(Descriptor) == 32);
}

/// Per-slot metadata of the send staging area (24 bytes): u32 length + 20-byte address.
pub const SendMeta = extern struct {
    length: u32,
    address: address.Record,
};
comptime {
    std.debug.assert(@sizeOf(SendMeta) == 24);
}

/// cmsghdr as Linux lays it out on 64-bit: the payload starts at 16 bytes.
const CmsgHeader = extern struct {
    length: usize,
    level: c_int,
    type: c_int,
};
const cmsg_header_bytes = @sizeOf(CmsgHeader);
const control_bytes = 64; // room for UDP_GRO (int) with headroom

fn cmsgAlign(length: usize) usize {
    return (length + @sizeOf(usize) - 1) & ~@as(usize, @sizeOf(usize) - 1);
}

/// Scratch for one recvmmsg call; lives in the caller (rx thread state or stack).
pub const ReceiveScratch = struct {
    messages: [messages_per_call_max]linux.mmsghdr = undefined,
    iovecs: [messages_per_call_max]std.posix.iovec = undefined,
    names: [messages_per_call_max]linux.sockaddr.storage = undefined,
    controls: [messages_per_call_max][control_bytes]u8 align(8) = undefined,
};

pub const ReceiveCounts = struct {
    messages: u32 = 0, // buffers the kernel filled (a GRO buffer counts once)
    descriptors: u32 = 0, // datagrams after splitting
    truncated: u32 = 0, // MSG_TRUNC: datagram larger than a slot, dropped
    descriptor_overflow: u32 = 0, // segments dropped for lack of descriptor space
};

/// GRO segment size from the control messages, 0 when the buffer was not coalesced.
fn groSegmentBytes(header: *const linux.msghdr) u32 {
    const control: [*]const u8 = @ptrCast(header.control orelse return 0);
    var offset: usize = 0;
    while (offset + cmsg_header_bytes <= header.controllen) {
        const cmsg: *align(1) const CmsgHeader = @ptrCast(control + offset);
        if (cmsg.length < cmsg_header_bytes) return 0;
        if (cmsg.level == sol_udp and cmsg.type == udp_gro and cmsg.length >= cmsg_header_bytes + @sizeOf(c_int)) {
            const value = std.mem.readInt(i32, (control + offset + cmsg_header_bytes)[0..4], .little);
            return if (value > 0) @intCast(value) else 0;
        }
        offset += cmsgAlign(cmsg.length);
    }
    return 0;
}

/// One non-blocking recvmmsg into the slots at `slot_offsets` (each `slot_bytes` long) of
/// `buffer`; coalesced buffers are split into one descriptor per segment. Returns the
/// counts, or a Status (would_block when nothing was waiting).
pub fn receiveBatch(
    fd: i32,
    buffer: [*]u8,
    slot_offsets: []const u32,
    slot_bytes: u32,
    descriptors: []Descriptor,
    scratch: *ReceiveScratch,
    counts: *ReceiveCounts,
) Status {
    counts.* = .{};
    const vlen: usize = @min(slot_offsets.len, messages_per_call_max);
    if (vlen == 0 or descriptors.len == 0) return .invalid_argument;
    for (0..vlen) |i| {
        scratch.iovecs[i] = .{ .base = buffer + slot_offsets[i], .len = slot_bytes };
        scratch.messages[i] = .{ .hdr = .{
            .name = @ptrCast(&scratch.names[i]),
            .namelen = @sizeOf(linux.sockaddr.storage),
            .iov = @ptrCast(&scratch.iovecs[i]),
            .iovlen = 1,
            .control = &scratch.controls[i],
            .controllen = control_bytes,
            .flags = 0,
        }, .len = 0 };
    }
    var rc: usize = undefined;
    var attempts: u32 = 0;
    while (true) : (attempts += 1) {
        rc = linux.recvmmsg(fd, &scratch.messages, @intCast(vlen), linux.MSG.DONTWAIT, null);
        const errno = linux.E.init(rc);
        if (errno == .SUCCESS) break;
        if (errno == .INTR and attempts < 8) continue;
        return udp_socket.statusFromErrno(errno);
    }
    counts.messages = @intCast(rc);
    for (0..counts.messages) |i| splitMessage(&scratch.messages[i], &scratch.names[i], slot_offsets[i], descriptors, counts);
    return .ok;
}

fn splitMessage(message: *const linux.mmsghdr, name: *const linux.sockaddr.storage, slot_offset: u32, descriptors: []Descriptor, counts: *ReceiveCounts) void {
    if (message.hdr.flags & linux.MSG.TRUNC != 0) {
        counts.truncated += 1;
        return;
    }
    var record: address.Record = undefined;
    address.fromSocketAddress(name, message.hdr.namelen, &record);
    const total_bytes: u32 = message.len;
    const gro_bytes = groSegmentBytes(&message.hdr);
    const segment_bytes: u32 = if (gro_bytes > 0 and gro_bytes < total_bytes) gro_bytes else total_bytes;
    var offset: u32 = 0;
    while (true) {
        const length = @min(segment_bytes, total_bytes - offset);
        if (counts.descriptors == descriptors.len) {
            counts.descriptor_overflow += 1;
        } else {
            descriptors[counts.descriptors] = .{
                .offset = slot_offset + offset,
                .length = length,
                .segment_bytes = @intCast(if (gro_bytes < total_bytes) @min(gro_bytes, 0xffff) else 0),
                .flags = 0,
                .address = record,
            };
            counts.descriptors += 1;
        }
        offset += length;
        if (offset >= total_bytes) break;
    }
}

/// Receives one batch into slots 0..slot_count-1 of `buffer`. `stats` (4 u32): buffers
/// received, datagrams after GRO split, truncated drops, descriptor-overflow drops.
/// Returns the number of descriptors written, or a negative Status (would_block = empty).
export fn rudp_udp_recv_batch(fd: i32, buffer: [*]u8, slot_bytes: u32, slot_count: u32, descriptors: [*]Descriptor, descriptor_max: u32, stats: [*]u32) c_int {
    if (slot_bytes == 0 or slot_count == 0 or descriptor_max == 0) return @intFromEnum(Status.invalid_argument);
    var slot_offsets: [messages_per_call_max]u32 = undefined;
    const slots = @min(slot_count, messages_per_call_max);
    for (0..slots) |i| slot_offsets[i] = @intCast(i * slot_bytes);
    var scratch: ReceiveScratch = undefined;
    var counts: ReceiveCounts = .{};
    const status = receiveBatch(fd, buffer, slot_offsets[0..slots], slot_bytes, descriptors[0..descriptor_max], &scratch, &counts);
    stats[0] = counts.messages;
    stats[1] = counts.descriptors;
    stats[2] = counts.truncated;
    stats[3] = counts.descriptor_overflow;
    if (status != .ok) return @intFromEnum(status);
    return @intCast(counts.descriptors);
}

// ---------------------------------------------------------------------------------------
// Send

/// Slots of the `result` array of rudp_udp_send_batch (u32 each).
pub const send_result_sent = 0; // datagrams the kernel accepted
pub const send_result_dropped = 1; // datagrams refused for good (bad address, EMSGSIZE, ...)
pub const send_result_syscalls = 2;
pub const send_result_errno = 3; // last errno seen, 0 if none
pub const send_result_gso_messages = 4; // messages sent with UDP_SEGMENT
pub const send_result_would_block = 5; // 1 when stopped on EAGAIN/ENOBUFS (rest stays staged)
pub const send_result_gso_refused = 6; // 1 when GSO cannot work on this socket (caller should turn it off)
pub const send_result_slots = 7;

/// Option bits of rudp_udp_send_batch.
pub const send_option_gso: u32 = 1;
/// Fault injection for tests: behave as if the kernel said EAGAIN once one sendmmsg call
/// has gone through (loopback almost never fills a send buffer, so retention could not be
/// tested otherwise).
pub const send_option_fault_would_block: u32 = 2;
/// Fault injection for tests: fail every GSO message with EIO, as a device without
/// checksum offload does, so the one-by-one fallback runs on a kernel that has GSO.
pub const send_option_fault_gso_eio: u32 = 4;

const SendScratch = struct {
    messages: [messages_per_call_max]linux.mmsghdr_const = undefined,
    segments: [messages_per_call_max]u32 = undefined, // datagrams per message
    names: [messages_per_call_max]address.SocketAddress = undefined,
    controls: [messages_per_call_max][control_bytes]u8 align(8) = undefined,
    iovecs: [send_iovecs_max]std.posix.iovec_const = undefined,
};

const SendStaging = struct {
    slab: [*]const u8,
    slot_bytes: u32,
    slot_count: u32,
    meta: [*]const SendMeta,

    fn slotAt(self: SendStaging, first: u32, index: u32) u32 {
        return @intCast((@as(u64, first) + index) % self.slot_count);
    }
};

/// Length of the GSO run starting at staged datagram `start` (in datagrams): same address,
/// same length, at most gso_segments_max and gso_payload_bytes_max, and a shorter last one.
fn gsoRunLength(staging: SendStaging, first: u32, start: u32, end: u32, iovecs_left: u32) u32 {
    const head = staging.meta[staging.slotAt(first, start)];
    if (head.length == 0) return 1;
    const segments_max = @min(@min(gso_segments_max, iovecs_left), gso_payload_bytes_max / head.length);
    var run: u32 = 1;
    while (start + run < end and run < segments_max) : (run += 1) {
        const next = staging.meta[staging.slotAt(first, start + run)];
        if (!std.mem.eql(u8, &next.address, &head.address)) break;
        if (next.length == head.length) continue;
        if (next.length > 0 and next.length < head.length) run += 1; // a short tail ends a run
        break;
    }
    return run;
}

fn writeSegmentControl(control: *[control_bytes]u8, segment_bytes: u16) usize {
    const header: *align(1) CmsgHeader = @ptrCast(control);
    header.* = .{ .length = cmsg_header_bytes + @sizeOf(u16), .level = sol_udp, .type = udp_segment };
    std.mem.writeInt(u16, control[cmsg_header_bytes..][0..2], segment_bytes, .little);
    return cmsgAlign(cmsg_header_bytes + @sizeOf(u16));
}

/// Fills scratch with up to messages_per_call_max messages from staged datagrams
/// [start, end). Returns the number of messages; invalid datagrams at the head are
/// reported through `invalid_at_start` so the caller drops them.
fn buildMessages(staging: SendStaging, first: u32, start: u32, end: u32, gso: bool, scratch: *SendScratch, invalid_at_start: *u32) u32 {
    var message_count: u32 = 0;
    var iovec_count: u32 = 0;
    var cursor = start;
    invalid_at_start.* = 0;
    while (cursor < end and message_count < messages_per_call_max and iovec_count < send_iovecs_max) {
        const slot = staging.slotAt(first, cursor);
        const meta = staging.meta[slot];
        const name = address.toSocketAddress(&meta.address);
        if (name == null or meta.length > staging.slot_bytes) {
            if (message_count == 0) {
                invalid_at_start.* += 1;
                cursor += 1;
                continue;
            }
            break; // sent after the messages before it; dropped at the head of the next round
        }
        const run = if (gso) gsoRunLength(staging, first, cursor, end, send_iovecs_max - iovec_count) else 1;
        for (0..run) |k| {
            const run_slot = staging.slotAt(first, cursor + @as(u32, @intCast(k)));
            scratch.iovecs[iovec_count + k] = .{ .base = staging.slab + @as(usize, run_slot) * staging.slot_bytes, .len = staging.meta[run_slot].length };
        }
        scratch.names[message_count] = name.?;
        var controllen: usize = 0;
        if (run > 1) controllen = writeSegmentControl(&scratch.controls[message_count], @intCast(meta.length));
        scratch.messages[message_count] = .{ .hdr = .{
            .name = scratch.names[message_count].pointer(),
            .namelen = scratch.names[message_count].length,
            .iov = @ptrCast(&scratch.iovecs[iovec_count]),
            .iovlen = run,
            .control = if (controllen > 0) &scratch.controls[message_count] else null,
            .controllen = controllen,
            .flags = 0,
        }, .len = 0 };
        scratch.segments[message_count] = run;
        iovec_count += run;
        message_count += 1;
        cursor += run;
    }
    return message_count;
}

fn isTransient(errno: linux.E) bool {
    return errno == .AGAIN or errno == .NOBUFS;
}

/// Sends staged datagrams first..first+count (circular over slot_count slots of
/// slot_bytes in `slab`, metadata in `meta`). Stops at EAGAIN/ENOBUFS with the rest still
/// staged. Returns how many datagrams left the staging area from the front (sent +
/// dropped for good) so the caller can release exactly those, or a negative Status for
/// bad arguments. Details in `result` (send_result_slots u32).
export fn rudp_udp_send_batch(fd: i32, slab: [*]const u8, slot_bytes: u32, slot_count: u32, meta: [*]const SendMeta, first: u32, count: u32, options: u32, result: [*]u32) c_int {
    @memset(result[0..send_result_slots], 0);
    if (slot_bytes == 0 or slot_count == 0 or count > slot_count or first >= slot_count) return @intFromEnum(Status.invalid_argument);
    const staging = SendStaging{ .slab = slab, .slot_bytes = slot_bytes, .slot_count = slot_count, .meta = meta };
    var scratch: SendScratch = undefined;
    var gso = options & send_option_gso != 0;
    var done: u32 = 0;
    var interrupts: u32 = 0;
    while (done < count) {
        if (options & send_option_fault_would_block != 0 and result[send_result_syscalls] > 0) {
            result[send_result_errno] = @intFromEnum(linux.E.AGAIN);
            result[send_result_would_block] = 1;
            break;
        }
        var invalid: u32 = 0;
        const message_count = buildMessages(staging, first, done, count, gso, &scratch, &invalid);
        done += invalid;
        result[send_result_dropped] += invalid;
        if (message_count == 0) continue;
        result[send_result_syscalls] += 1;
        const fault_gso = options & send_option_fault_gso_eio != 0 and scratch.segments[0] > 1;
        const rc = if (fault_gso) @as(usize, @bitCast(-@as(isize, @intFromEnum(linux.E.IO)))) else linux.sendmmsg(fd, &scratch.messages, message_count, linux.MSG.DONTWAIT);
        const errno = linux.E.init(rc);
        if (errno == .SUCCESS) {
            for (scratch.segments[0..rc]) |segments| {
                done += segments;
                result[send_result_sent] += segments;
                if (segments > 1) result[send_result_gso_messages] += 1;
            }
            continue;
        }
        result[send_result_errno] = @intCast(@intFromEnum(errno));
        if (isTransient(errno)) {
            result[send_result_would_block] = 1;
            break;
        }
        if (errno == .INTR and interrupts < 8) {
            interrupts += 1;
            continue;
        }
        if (scratch.segments[0] > 1) {
            // GSO refused: resend the same datagrams one by one for the rest of this call.
            // EIO (a device without checksum offload) and ENOPROTOOPT/EOPNOTSUPP (a kernel
            // without UDP_SEGMENT) will not change: tell the caller to stop asking.
            // EINVAL/EMSGSIZE (a segment above the path MTU) only concern this run.
            gso = false;
            if (errno == .IO or errno == .NOPROTOOPT or errno == .OPNOTSUPP) result[send_result_gso_refused] = 1;
            continue;
        }
        done += 1; // a single datagram refused for good: drop it, keep the rest moving
        result[send_result_dropped] += 1;
    }
    return @intCast(done);
}

/// Anonymous, page-aligned (so cache-line aligned) memory for staging areas and receive
/// buffers that TypeScript views through toArrayBuffer. `out_address` gets the address.
export fn rudp_memory_map(bytes: usize, out_address: *u64) c_int {
    if (bytes == 0) return @intFromEnum(Status.invalid_argument);
    const rc = linux.mmap(null, bytes, linux.PROT.READ | linux.PROT.WRITE, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    if (linux.E.init(rc) != .SUCCESS) return @intFromEnum(Status.out_of_memory);
    out_address.* = rc;
    return 0;
}

export fn rudp_memory_unmap(memory_address: u64, bytes: usize) c_int {
    if (memory_address == 0 or bytes == 0) return @intFromEnum(Status.invalid_argument);
    const memory: [*]align(std.heap.page_size_min) u8 = @ptrFromInt(memory_address);
    if (linux.E.init(linux.munmap(memory, bytes)) != .SUCCESS) return @intFromEnum(Status.invalid_argument);
    return 0;
}

test "sendmmsg with a GSO run -> recvmmsg with GRO gives back every datagram, tail included" {
    var bind_record: address.Record = [_]u8{0} ** address.record_bytes;
    bind_record[0] = address.family_ipv4;
    bind_record[4..8].* = .{ 127, 0, 0, 1 };
    var info: [udp_socket.info_slots]i32 = undefined;
    const receiver_fd = rudp_udp_open_for_test(&bind_record, udp_socket.option_gro, &info);
    defer _ = linux.close(receiver_fd);
    const gro_on = info[udp_socket.info_gro_enabled] == 1;
    const sender_fd = rudp_udp_open_for_test(&bind_record, 0, &info);
    defer _ = linux.close(sender_fd);

    // 20 x 1000 B + a 300 B tail to the receiver, staged from slot 5 so the run wraps.
    const slot_bytes = 1024;
    const slot_count = 32;
    var slab: [slot_count * slot_bytes]u8 = undefined;
    var meta: [slot_count]SendMeta = undefined;
    var destination = bind_record;
    const receiver_port: u16 = @intCast(udp_socket.localPort(receiver_fd));
    destination[2..4].* = @bitCast(std.mem.nativeToBig(u16, receiver_port));
    const first = 5;
    for (0..21) |i| {
        const slot = (first + i) % slot_count;
        meta[slot] = .{ .length = if (i < 20) 1000 else 300, .address = destination };
        @memset(slab[slot * slot_bytes ..][0..slot_bytes], @intCast(i));
    }
    var result: [send_result_slots]u32 = undefined;
    const left = rudp_udp_send_batch(sender_fd, &slab, slot_bytes, slot_count, &meta, first, 21, send_option_gso, &result);
    try std.testing.expectEqual(@as(c_int, 21), left);
    try std.testing.expectEqual(@as(u32, 21), result[send_result_sent]);
    if (result[send_result_gso_refused] == 0) try std.testing.expectEqual(@as(u32, 1), result[send_result_gso_messages]);

    const receive_slots = 4;
    var buffer: [receive_slots * 65536]u8 = undefined;
    var descriptors: [receive_slots * 64]Descriptor = undefined;
    var stats: [4]u32 = undefined;
    var received: usize = 0;
    var rounds: usize = 0;
    while (received < 21 and rounds < 1000) : (rounds += 1) {
        const count = rudp_udp_recv_batch(receiver_fd, &buffer, 65536, receive_slots, &descriptors, descriptors.len, &stats);
        if (count == @intFromEnum(Status.would_block)) {
            std.Thread.sleep(std.time.ns_per_ms);
            continue;
        }
        try std.testing.expect(count > 0);
        for (descriptors[0..@intCast(count)]) |descriptor| {
            try std.testing.expectEqual(@as(u32, if (received < 20) 1000 else 300), descriptor.length);
            try std.testing.expectEqual(@as(u8, @intCast(received)), buffer[descriptor.offset]);
            if (gro_on and received < 20) try std.testing.expectEqual(@as(u16, 1000), descriptor.segment_bytes);
            received += 1;
        }
    }
    try std.testing.expectEqual(@as(usize, 21), received);
}

fn rudp_udp_open_for_test(record: *const address.Record, options: u32, info: *[udp_socket.info_slots]i32) i32 {
    const fd = udp_socket.rudp_udp_open(record, options, 1 << 20, 1 << 20, info);
    std.debug.assert(fd >= 0);
    return fd;
}
