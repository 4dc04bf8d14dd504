//! Receive thread: blocks in poll() on the socket and a stop eventfd (no busy polling:
//! idle is ~0% CPU), drains the socket with recvmmsg (UDP_GRO buffers split per segment)
//! into a slab of fixed slots it owns, verifies the CRC32C trailer of every datagram
//! (last 4 bytes = little-endian CRC32C of everything before them), and publishes
//! descriptors into the SPSC ring (ring.zig) that TypeScript drains through views.
//!
//! Slab space: the slab is a byte ring. Each recvmmsg posts up to batch_size buffers of
//! slot_bytes (the largest datagram, 64 KiB with GRO) side by side at the write cursor,
//! then moves the datagrams it got down next to each other (rounded to 64 bytes), so
//! small datagrams take ~their own size, not a whole slot. A batch's bytes are given back
//! in order once the consumer's head has passed its last descriptor (head advance is the
//! release), so nothing TypeScript may still read is ever overwritten. When the ring or
//! the slab is full, datagrams are dropped and counted by reason.
//!
//! Doorbell: after publishing, if the consumer set the ring's idle flag, the flag is
//! swapped to 0 and the doorbell (a bun:ffi threadsafe JSCallback) is called once.
const std = @import("std");
const linux = std.os.linux;
const Status = @import("status.zig").Status;
const batch_io = @import("batch_io.zig");
const ring_module = @import("ring.zig");
const crc32c = @import("crc32c.zig");
const Descriptor = batch_io.Descriptor;
const Ring = ring_module.Ring;

pub const Doorbell = *const fn () callconv(.c) void;

/// Option bits of rudp_rx_create.
pub const option_verify_checksum: u32 = 1;
/// Receive buffers may hold GRO-coalesced datagrams (up to 64 segments each).
pub const option_gro: u32 = 2;
/// Leave datagrams where recvmmsg put them (one slot_bytes stride each) instead of
/// packing them: no memmove, but each datagram holds a whole slot until released.
pub const option_no_pack: u32 = 4;

/// Counter indexes (u64 each, in the counters block TypeScript views).
pub const Counter = enum(u32) {
    datagrams, // descriptors published
    bytes, // payload bytes published
    batches, // recvmmsg calls that returned data
    syscalls_receive, // recvmmsg calls, including the EAGAIN that ends a burst
    polls, // poll() calls (sleeps)
    wakeups, // doorbell calls
    drops_ring_full,
    drops_no_slot, // every slot still held by the consumer
    drops_truncated, // datagram larger than a slot
    drops_descriptor_overflow,
    checksum_failures,
    gro_buffers, // buffers that held more than one segment
    receive_errors, // recvmmsg errors other than EAGAIN/EINTR
    last_error_status, // |Status| of the last receive error (see status.zig), 0 if none
};
pub const counter_count = @typeInfo(Counter).@"enum".fields.len;

/// Out-array slots of rudp_rx_create (u64 each).
pub const layout_handle = 0;
pub const layout_ring_address = 1;
pub const layout_ring_bytes = 2;
pub const layout_slab_address = 3;
pub const layout_slab_bytes = 4;
pub const layout_counters_address = 5;
pub const layout_slot_bytes = 6;
pub const layout_slots = 7;

const segments_per_gro_buffer_max = 64;
/// Datagrams up to this size are moved together in the slab; bigger ones stay in place.
const pack_bytes_max = 4096;
const slot_count_max = 1 << 20;

/// Bytes a packed datagram takes in the slab: cache-line multiples, never zero (so a
/// batch always has a size and the byte ring's full/empty cases stay distinct).
fn packedBytes(length: u32) u32 {
    return @max(64, std.mem.alignForward(u32, length, 64));
}

/// The slab as a byte ring with in-order release (a bip buffer): batches take space at
/// the cursor, and give it back when the ring head passes their last descriptor.
const SlabSpace = struct {
    capacity: u32,
    cursor: u32 = 0,
    batches: []Batch,
    first: u32 = 0,
    count: u32 = 0,

    const Batch = struct { begin: u32, end: u32, ring_end: u32 };

    fn release(self: *SlabSpace, head: u32) void {
        while (self.count > 0) {
            const oldest = self.batches[self.first];
            if (@as(i32, @bitCast(head -% oldest.ring_end)) < 0) break;
            self.first = (self.first + 1) % @as(u32, @intCast(self.batches.len));
            self.count -= 1;
        }
        if (self.count == 0) self.cursor = 0; // all free: start over at the front
    }

    /// The largest contiguous free run at the cursor, or at the front when the run at the
    /// cursor is shorter than `wanted` (the cursor then wraps).
    fn freeRegion(self: *SlabSpace, wanted: u32) struct { begin: u32, bytes: u32 } {
        if (self.count == 0) return .{ .begin = 0, .bytes = self.capacity };
        const oldest = self.batches[self.first].begin;
        if (self.cursor > oldest) { // used = [oldest, cursor)
            if (self.capacity - self.cursor >= wanted) return .{ .begin = self.cursor, .bytes = self.capacity - self.cursor };
            return .{ .begin = 0, .bytes = oldest };
        }
        return .{ .begin = self.cursor, .bytes = oldest - self.cursor }; // wrapped: used = [oldest, end) + [0, cursor)
    }

    fn push(self: *SlabSpace, begin: u32, end: u32, ring_end: u32) void {
        std.debug.assert(self.count < self.batches.len);
        const index = (self.first + self.count) % @as(u32, @intCast(self.batches.len));
        self.batches[index] = .{ .begin = begin, .end = end, .ring_end = ring_end };
        self.count += 1;
        self.cursor = end;
    }
};

const Receiver = struct {
    fd: i32,
    stop_fd: i32,
    ring: Ring,
    slab: [*]align(std.heap.page_size_min) u8,
    slab_bytes: usize,
    slot_bytes: u32,
    slot_count: u32,
    batch_size: u32,
    options: u32,
    cpu: i32,
    doorbell: ?Doorbell,
    counters: *[counter_count]u64,
    counters_memory: []align(std.heap.page_size_min) u8,
    space: SlabSpace,
    descriptors: []Descriptor,
    scratch: batch_io.ReceiveScratch = .{},
    thread: ?std.Thread = null,
    stopping: bool = false,

    fn count(self: *Receiver, counter: Counter, amount: u64) void {
        const pointer = &self.counters[@intFromEnum(counter)];
        @atomicStore(u64, pointer, pointer.* + amount, .monotonic);
    }

    fn recordError(self: *Receiver, status: Status) void {
        self.count(.receive_errors, 1);
        @atomicStore(u64, &self.counters[@intFromEnum(Counter.last_error_status)], @abs(@intFromEnum(status)), .monotonic);
    }

    /// No room in the slab: receive into the spare area past its end, and drop.
    fn drainIntoSpare(self: *Receiver) Status {
        var offsets: [batch_io.messages_per_call_max]u32 = undefined;
        const vlen = @min(self.batch_size, batch_io.messages_per_call_max);
        for (offsets[0..vlen]) |*offset| offset.* = self.space.capacity;
        var counts: batch_io.ReceiveCounts = .{};
        const status = batch_io.receiveBatch(self.fd, self.slab, offsets[0..vlen], self.slot_bytes, self.descriptors, &self.scratch, &counts);
        self.count(.syscalls_receive, 1);
        if (status == .ok) self.count(.drops_no_slot, counts.descriptors + counts.truncated + counts.descriptor_overflow);
        return status;
    }

    /// Moves the datagrams of one receive (posted slot_bytes apart from `begin`) down next
    /// to each other and rewrites descriptor offsets. Returns the end of the packed bytes.
    fn pack(self: *Receiver, begin: u32, messages: u32, descriptors: []Descriptor) u32 {
        var packed_at: [batch_io.messages_per_call_max]u32 = undefined;
        var write = begin;
        for (0..messages) |i| {
            const message = &self.scratch.messages[i];
            const truncated = message.hdr.flags & linux.MSG.TRUNC != 0;
            const length: u32 = if (truncated) 0 else message.len;
            const source = begin + @as(u32, @intCast(i)) * self.slot_bytes;
            if (self.options & option_no_pack != 0) {
                packed_at[i] = source;
                write = source + self.slot_bytes;
                continue;
            }
            if (length > pack_bytes_max) {
                // A big (GRO-coalesced) buffer already fills most of its slot: moving it
                // would cost a 64 KiB memmove for little space. It stays; the gap before
                // it is given back with the batch.
                packed_at[i] = source;
                write = source + packedBytes(length);
                continue;
            }
            packed_at[i] = write;
            if (length > 0 and source != write) std.mem.copyForwards(u8, self.slab[write..][0..length], self.slab[source..][0..length]);
            write += packedBytes(length);
        }
        var previous_message: u32 = std.math.maxInt(u32);
        for (descriptors) |*descriptor| {
            const message = (descriptor.offset - begin) / self.slot_bytes;
            descriptor.offset = descriptor.offset - (begin + message * self.slot_bytes) + packed_at[message];
            if (message != previous_message and descriptor.segment_bytes != 0) self.count(.gro_buffers, 1);
            previous_message = message;
        }
        return write;
    }

    fn verify(self: *Receiver, descriptor: *Descriptor) void {
        if (self.options & option_verify_checksum == 0) {
            descriptor.flags = Descriptor.flag_checksum_ok;
            return;
        }
        const datagram = self.slab[descriptor.offset..][0..descriptor.length];
        if (crc32c.trailerVerifies(datagram)) {
            descriptor.flags = Descriptor.flag_checksum_ok | Descriptor.flag_checksum_checked;
        } else {
            descriptor.flags = Descriptor.flag_checksum_checked;
            self.count(.checksum_failures, 1);
        }
    }

    /// One recvmmsg into free slots, verification, publication. Returns would_block
    /// when the socket is empty, and also when it returned fewer buffers than it had
    /// room for: the queue is then (almost surely) empty, and poll() finds out for less
    /// than another recvmmsg that fails with EAGAIN.
    fn receiveOnce(self: *Receiver) Status {
        self.space.release(self.ring.headAcquire());
        const region = self.space.freeRegion(self.slot_bytes);
        const posted: u32 = @min(@min(self.batch_size, batch_io.messages_per_call_max), region.bytes / self.slot_bytes);
        if (posted == 0) return self.drainIntoSpare();
        var offsets: [batch_io.messages_per_call_max]u32 = undefined;
        for (0..posted) |i| offsets[i] = region.begin + @as(u32, @intCast(i)) * self.slot_bytes;
        var counts: batch_io.ReceiveCounts = .{};
        const status = batch_io.receiveBatch(self.fd, self.slab, offsets[0..posted], self.slot_bytes, self.descriptors, &self.scratch, &counts);
        self.count(.syscalls_receive, 1);
        if (status != .ok) return status;
        self.count(.batches, 1);
        self.count(.drops_truncated, counts.truncated);
        self.count(.drops_descriptor_overflow, counts.descriptor_overflow);
        const descriptors = self.descriptors[0..counts.descriptors];
        const end = self.pack(region.begin, counts.messages, descriptors);
        const ring_end = self.publishBatch(descriptors);
        if (ring_end) |tail| self.space.push(region.begin, end, tail);
        return if (counts.messages < posted) .would_block else .ok;
    }

    /// Verifies and publishes what fits in the ring. Returns the new tail, or null when
    /// nothing was published (the batch's slab bytes are then free again at once).
    fn publishBatch(self: *Receiver, descriptors: []Descriptor) ?u32 {
        var tail = self.ring.tailRelaxed();
        const free = self.ring.freeSlots(tail, @intCast(descriptors.len));
        const accepted: u32 = @intCast(@min(free, descriptors.len));
        var bytes: u64 = 0;
        for (descriptors[0..accepted]) |*descriptor| {
            self.verify(descriptor);
            self.ring.slot(tail).* = descriptor.*;
            tail +%= 1;
            bytes += descriptor.length;
        }
        self.count(.drops_ring_full, descriptors.len - accepted);
        if (accepted == 0) return null;
        self.count(.datagrams, accepted);
        self.count(.bytes, bytes);
        if (self.ring.publish(tail)) {
            self.count(.wakeups, 1);
            if (self.doorbell) |doorbell| doorbell();
        }
        return tail;
    }

    fn pinToCpu(self: *Receiver) void {
        if (self.cpu < 0) return;
        var set: linux.cpu_set_t = [_]usize{0} ** @typeInfo(linux.cpu_set_t).array.len;
        const cpu: usize = @intCast(self.cpu);
        if (cpu >= set.len * @bitSizeOf(usize)) return;
        set[cpu / @bitSizeOf(usize)] |= @as(usize, 1) << @intCast(cpu % @bitSizeOf(usize));
        linux.sched_setaffinity(0, &set) catch {}; // a refused pin is not fatal
    }

    /// Sleeps until the socket is readable or stop is signalled. Returns false on stop.
    /// Sleeps until the socket is readable or stop is signalled (or `timeout_ms` passes,
    /// -1 = no timeout). Returns false on stop.
    fn waitReadable(self: *Receiver, timeout_ms: i32) bool {
        var fds = [2]linux.pollfd{
            .{ .fd = self.fd, .events = linux.POLL.IN, .revents = 0 },
            .{ .fd = self.stop_fd, .events = linux.POLL.IN, .revents = 0 },
        };
        self.count(.polls, 1);
        const rc = linux.poll(&fds, 2, timeout_ms);
        if (linux.E.init(rc) != .SUCCESS) return true; // EINTR: just loop
        return fds[1].revents == 0;
    }

    fn run(self: *Receiver) void {
        self.pinToCpu();
        // Bounded by the stop flag: a flood keeps receiveOnce returning .ok, so the flag,
        // not only the eventfd, must end the loop.
        while (!@atomicLoad(bool, &self.stopping, .acquire)) {
            const status = self.receiveOnce();
            switch (status) {
                .ok => continue,
                .would_block => if (!self.waitReadable(-1)) return,
                .invalid_argument => { // EBADF/ENOTSOCK: the fd is gone; spinning would not help
                    self.recordError(status);
                    return;
                },
                else => { // a transient error (ENOMEM, a queued ICMP error): back off 10 ms
                    self.recordError(status);
                    if (!self.waitReadable(10)) return;
                },
            }
        }
    }
};

fn mapZeroed(bytes: usize) ?[]align(std.heap.page_size_min) u8 {
    const rc = linux.mmap(null, bytes, linux.PROT.READ | linux.PROT.WRITE, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    if (linux.E.init(rc) != .SUCCESS) return null;
    const memory: [*]align(std.heap.page_size_min) u8 = @ptrFromInt(rc);
    return memory[0..bytes];
}

const CreateError = error{ InvalidArgument, OutOfMemory };

fn create(fd: i32, ring_capacity: u32, slot_count: u32, slot_bytes_wanted: u32, batch_size: u32, options: u32, cpu: i32, doorbell: ?Doorbell) CreateError!*Receiver {
    if (fd < 0 or slot_count == 0 or slot_count > slot_count_max or batch_size == 0) return error.InvalidArgument;
    if (slot_bytes_wanted < 64 or slot_bytes_wanted > 1 << 17) return error.InvalidArgument;
    const allocator = std.heap.page_allocator;
    const slot_bytes = std.mem.alignForward(u32, slot_bytes_wanted, 64); // cache-line aligned slots
    var ring = Ring.init(ring_capacity) catch |err| return switch (err) {
        error.InvalidCapacity => error.InvalidArgument,
        error.OutOfMemory => error.OutOfMemory,
    };
    errdefer ring.deinit();
    const slab_bytes = (@as(usize, slot_count) + 1) * slot_bytes; // +1: the spare area for drops
    if (slab_bytes > std.math.maxInt(u32)) return error.InvalidArgument; // descriptor offsets are u32
    const slab = mapZeroed(slab_bytes) orelse return error.OutOfMemory;
    errdefer _ = linux.munmap(slab.ptr, slab.len);
    const counters_memory = mapZeroed(std.heap.page_size_min) orelse return error.OutOfMemory;
    errdefer _ = linux.munmap(counters_memory.ptr, counters_memory.len);
    const segments: usize = if (options & option_gro != 0) segments_per_gro_buffer_max else 1;
    const descriptors = try allocator.alloc(Descriptor, @min(batch_size, batch_io.messages_per_call_max) * segments);
    errdefer allocator.free(descriptors);
    // Every unreleased batch holds at least one ring entry, so the ring bounds the FIFO.
    const batches = try allocator.alloc(SlabSpace.Batch, ring.capacity);
    errdefer allocator.free(batches);
    const stop_rc = linux.eventfd(0, linux.EFD.CLOEXEC | linux.EFD.NONBLOCK);
    if (linux.E.init(stop_rc) != .SUCCESS) return error.OutOfMemory;
    const receiver = try allocator.create(Receiver);
    receiver.* = .{
        .fd = fd, .stop_fd = @intCast(stop_rc), .ring = ring, .slab = slab.ptr, .slab_bytes = slab_bytes,
        .slot_bytes = slot_bytes, .slot_count = slot_count, .batch_size = batch_size, .options = options, .cpu = cpu,
        .doorbell = doorbell, .counters = @ptrCast(counters_memory.ptr), .counters_memory = counters_memory,
        .space = .{ .capacity = @intCast(slot_count * slot_bytes), .batches = batches }, .descriptors = descriptors,
    };
    return receiver;
}

fn destroy(receiver: *Receiver) void {
    const allocator = std.heap.page_allocator;
    _ = linux.close(receiver.stop_fd);
    receiver.ring.deinit();
    _ = linux.munmap(receiver.slab, receiver.slab_bytes);
    _ = linux.munmap(receiver.counters_memory.ptr, receiver.counters_memory.len);
    allocator.free(receiver.descriptors);
    allocator.free(receiver.space.batches);
    allocator.destroy(receiver);
}

/// Creates (does not start) a receive thread on `fd` (non-blocking UDP socket, owned by
/// the caller and closed after rudp_rx_destroy). `layout` (8 u64) receives the handle and
/// the addresses and sizes TypeScript maps views onto. `cpu` < 0: no pinning.
/// slot_bytes >= the largest datagram (65536 when GRO is on), rounded up to 64.
export fn rudp_rx_create(fd: i32, ring_capacity: u32, slot_count: u32, slot_bytes: u32, batch_size: u32, options: u32, cpu: i32, doorbell: ?*const fn () callconv(.c) void, layout: [*]u64) c_int {
    const receiver = create(fd, ring_capacity, slot_count, slot_bytes, batch_size, options, cpu, doorbell) catch |err| return @intFromEnum(switch (err) {
        error.InvalidArgument => Status.invalid_argument,
        error.OutOfMemory => Status.out_of_memory,
    });
    layout[layout_handle] = @intFromPtr(receiver);
    layout[layout_ring_address] = @intFromPtr(receiver.ring.memory);
    layout[layout_ring_bytes] = ring_module.ringBytes(receiver.ring.capacity);
    layout[layout_slab_address] = @intFromPtr(receiver.slab);
    layout[layout_slab_bytes] = receiver.slab_bytes;
    layout[layout_counters_address] = @intFromPtr(receiver.counters);
    layout[layout_slot_bytes] = receiver.slot_bytes;
    layout[layout_slots] = receiver.slot_count;
    return 0;
}

fn receiverAt(handle: u64) ?*Receiver {
    if (handle == 0) return null;
    return @ptrFromInt(handle);
}

export fn rudp_rx_start(handle: u64) c_int {
    const receiver = receiverAt(handle) orelse return @intFromEnum(Status.invalid_argument);
    if (receiver.thread != null) return @intFromEnum(Status.already_running);
    receiver.thread = std.Thread.spawn(.{ .stack_size = 256 * 1024 }, Receiver.run, .{receiver}) catch return @intFromEnum(Status.thread_error);
    return 0;
}

/// Wakes the thread through the eventfd and joins it. Safe to call when not running.
export fn rudp_rx_stop(handle: u64) c_int {
    const receiver = receiverAt(handle) orelse return @intFromEnum(Status.invalid_argument);
    const thread = receiver.thread orelse return @intFromEnum(Status.not_running);
    @atomicStore(bool, &receiver.stopping, true, .release);
    const one: u64 = 1;
    _ = linux.write(receiver.stop_fd, std.mem.asBytes(&one), @sizeOf(u64));
    thread.join();
    receiver.thread = null;
    receiver.stopping = false;
    var drained: u64 = 0;
    _ = linux.read(receiver.stop_fd, std.mem.asBytes(&drained), @sizeOf(u64));
    return 0;
}

/// Stops (if running) and frees everything; views over its memory become invalid.
export fn rudp_rx_destroy(handle: u64) c_int {
    const receiver = receiverAt(handle) orelse return @intFromEnum(Status.invalid_argument);
    if (receiver.thread != null) _ = rudp_rx_stop(handle);
    destroy(receiver);
    return 0;
}

export fn rudp_rx_counter_count() u32 {
    return counter_count;
}

test "slab space: in-order release, wrap to the front, never hands out bytes still held" {
    var batches: [8]SlabSpace.Batch = undefined;
    var space = SlabSpace{ .capacity = 1000, .batches = &batches };
    var region = space.freeRegion(100);
    try std.testing.expectEqual(@as(u32, 0), region.begin);
    try std.testing.expectEqual(@as(u32, 1000), region.bytes);
    space.push(0, 400, 10); // ring positions [0, 10)
    space.push(400, 900, 20); // [10, 20)
    region = space.freeRegion(100); // 100 left at the end: enough
    try std.testing.expectEqual(@as(u32, 900), region.begin);
    try std.testing.expectEqual(@as(u32, 100), region.bytes);
    region = space.freeRegion(200); // not enough at the end, front still held
    try std.testing.expectEqual(@as(u32, 0), region.bytes);
    space.release(9); // head before the first batch's end: nothing freed
    try std.testing.expectEqual(@as(u32, 2), space.count);
    space.release(10); // first batch given back: the front opens
    region = space.freeRegion(200);
    try std.testing.expectEqual(@as(u32, 0), region.begin);
    try std.testing.expectEqual(@as(u32, 400), region.bytes);
    space.push(0, 300, 30); // wrapped: used = [400, 900) + [0, 300)
    region = space.freeRegion(50);
    try std.testing.expectEqual(@as(u32, 300), region.begin);
    try std.testing.expectEqual(@as(u32, 100), region.bytes); // up to the oldest held byte
    space.release(30); // everything back: start over at the front
    try std.testing.expectEqual(@as(u32, 0), space.count);
    region = space.freeRegion(50);
    try std.testing.expectEqual(@as(u32, 0), region.begin);
    try std.testing.expectEqual(@as(u32, 1000), region.bytes);
    // Ring positions wrap at 2^32: release compares with wrapping arithmetic.
    space.push(0, 64, 5);
    space.release(0xffff_fff0);
    try std.testing.expectEqual(@as(u32, 1), space.count);
    space.release(5);
    try std.testing.expectEqual(@as(u32, 0), space.count);
}
