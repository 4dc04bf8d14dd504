//! Receive thread: blocks in poll() on the socket and a stop eventfd (no busy polling:
//! idle is ~0% CPU), drains the socket with recvmmsg (UDP_GRO buffers split per segment)
//! into a slab of fixed slots it owns, verifies the CRC32C trailer of every datagram
//! (last 4 bytes = little-endian CRC32C of everything before them), and publishes
//! descriptors into the SPSC ring (ring.zig) that TypeScript drains through views.
//!
//! Slot ownership: slots are filled in cyclic order. A slot that produced descriptors
//! at ring positions [p, q) is reused only once the consumer's head has reached q, i.e.
//! after TypeScript released every datagram in it (head advance is the release).
//! When the ring or the slots are full, datagrams are dropped and counted by reason.
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
    last_errno,
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
const slot_count_max = 1 << 20;

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
    /// Per slot: held by descriptors until head reaches slot_release[slot].
    slot_held: []bool,
    slot_release: []u32,
    next_slot: u32 = 0,
    descriptors: []Descriptor,
    scratch: batch_io.ReceiveScratch = .{},
    thread: ?std.Thread = null,

    fn count(self: *Receiver, counter: Counter, amount: u64) void {
        const pointer = &self.counters[@intFromEnum(counter)];
        @atomicStore(u64, pointer, pointer.* + amount, .monotonic);
    }

    fn slotFree(self: *Receiver, slot: u32) bool {
        if (!self.slot_held[slot]) return true;
        const head = self.ring.headAcquire();
        if (@as(i32, @bitCast(head -% self.slot_release[slot])) < 0) return false;
        self.slot_held[slot] = false;
        return true;
    }

    /// Offsets of up to batch_size free slots in cyclic order from next_slot.
    fn collectFreeSlots(self: *Receiver, offsets: []u32) usize {
        var found: usize = 0;
        while (found < offsets.len) {
            const slot: u32 = @intCast((self.next_slot + found) % self.slot_count);
            if (!self.slotFree(slot)) break;
            offsets[found] = slot * self.slot_bytes;
            found += 1;
        }
        return found;
    }

    /// The consumer holds every slot: receive into the spare slot past the end and drop.
    fn drainIntoSpare(self: *Receiver) Status {
        var offsets: [batch_io.messages_per_call_max]u32 = undefined;
        const vlen = @min(self.batch_size, batch_io.messages_per_call_max);
        for (offsets[0..vlen]) |*offset| offset.* = self.slot_count * self.slot_bytes;
        var counts: batch_io.ReceiveCounts = .{};
        const status = batch_io.receiveBatch(self.fd, self.slab, offsets[0..vlen], self.slot_bytes, self.descriptors, &self.scratch, &counts);
        self.count(.syscalls_receive, 1);
        if (status == .ok) self.count(.drops_no_slot, counts.descriptors + counts.truncated + counts.descriptor_overflow);
        return status;
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
        var offsets: [batch_io.messages_per_call_max]u32 = undefined;
        const free = self.collectFreeSlots(offsets[0..@min(self.batch_size, batch_io.messages_per_call_max)]);
        if (free == 0) return self.drainIntoSpare();
        var counts: batch_io.ReceiveCounts = .{};
        const status = batch_io.receiveBatch(self.fd, self.slab, offsets[0..free], self.slot_bytes, self.descriptors, &self.scratch, &counts);
        self.count(.syscalls_receive, 1);
        if (status != .ok) return status;
        defer self.next_slot = @intCast((self.next_slot + counts.messages) % self.slot_count);
        self.count(.batches, 1);
        self.count(.drops_truncated, counts.truncated);
        self.count(.drops_descriptor_overflow, counts.descriptor_overflow);
        self.publishBatch(self.descriptors[0..counts.descriptors], offsets[0..counts.messages]);
        return if (counts.messages < free) .would_block else .ok;
    }

    fn publishBatch(self: *Receiver, descriptors: []Descriptor, slot_offsets: []const u32) void {
        var tail = self.ring.tailRelaxed();
        const free = self.ring.freeSlots(tail, @intCast(descriptors.len));
        const accepted: u32 = @intCast(@min(free, descriptors.len));
        var bytes: u64 = 0;
        for (descriptors[0..accepted]) |*descriptor| {
            self.verify(descriptor);
            self.ring.slot(tail).* = descriptor.*;
            tail +%= 1;
            bytes += descriptor.length;
            if (descriptor.segment_bytes != 0 and descriptor.offset % self.slot_bytes == 0) self.count(.gro_buffers, 1);
        }
        // Every slot of this batch is held until head passes the last descriptor published
        // so far; slots whose datagrams were all dropped are free again at once.
        for (slot_offsets) |offset| {
            const slot = offset / self.slot_bytes;
            self.slot_held[slot] = accepted > 0;
            self.slot_release[slot] = tail;
        }
        self.count(.drops_ring_full, descriptors.len - accepted);
        if (accepted == 0) return;
        self.count(.datagrams, accepted);
        self.count(.bytes, bytes);
        if (self.ring.publish(tail)) {
            self.count(.wakeups, 1);
            if (self.doorbell) |doorbell| doorbell();
        }
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
    fn waitReadable(self: *Receiver) bool {
        var fds = [2]linux.pollfd{
            .{ .fd = self.fd, .events = linux.POLL.IN, .revents = 0 },
            .{ .fd = self.stop_fd, .events = linux.POLL.IN, .revents = 0 },
        };
        self.count(.polls, 1);
        const rc = linux.poll(&fds, 2, -1);
        if (linux.E.init(rc) != .SUCCESS) return true; // EINTR: just loop
        return fds[1].revents == 0;
    }

    fn run(self: *Receiver) void {
        self.pinToCpu();
        while (true) {
            const status = self.receiveOnce();
            switch (status) {
                .ok => continue,
                .would_block => if (!self.waitReadable()) return,
                else => {
                    self.count(.receive_errors, 1);
                    if (!self.waitReadable()) return;
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
    const slab_bytes = (@as(usize, slot_count) + 1) * slot_bytes; // +1: the spare slot for drops
    if (slab_bytes > std.math.maxInt(u32)) return error.InvalidArgument; // descriptor offsets are u32
    const slab = mapZeroed(slab_bytes) orelse return error.OutOfMemory;
    errdefer _ = linux.munmap(slab.ptr, slab.len);
    const counters_memory = mapZeroed(std.heap.page_size_min) orelse return error.OutOfMemory;
    errdefer _ = linux.munmap(counters_memory.ptr, counters_memory.len);
    const segments: usize = if (options & option_gro != 0) segments_per_gro_buffer_max else 1;
    const descriptors = try allocator.alloc(Descriptor, @min(batch_size, batch_io.messages_per_call_max) * segments);
    errdefer allocator.free(descriptors);
    const slot_held = try allocator.alloc(bool, slot_count);
    errdefer allocator.free(slot_held);
    @memset(slot_held, false);
    const slot_release = try allocator.alloc(u32, slot_count);
    errdefer allocator.free(slot_release);
    const stop_rc = linux.eventfd(0, linux.EFD.CLOEXEC | linux.EFD.NONBLOCK);
    if (linux.E.init(stop_rc) != .SUCCESS) return error.OutOfMemory;
    const receiver = try allocator.create(Receiver);
    receiver.* = .{
        .fd = fd, .stop_fd = @intCast(stop_rc), .ring = ring, .slab = slab.ptr, .slab_bytes = slab_bytes,
        .slot_bytes = slot_bytes, .slot_count = slot_count, .batch_size = batch_size, .options = options, .cpu = cpu,
        .doorbell = doorbell, .counters = @ptrCast(counters_memory.ptr), .counters_memory = counters_memory,
        .slot_held = slot_held, .slot_release = slot_release, .descriptors = descriptors,
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
    allocator.free(receiver.slot_held);
    allocator.free(receiver.slot_release);
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
    const one: u64 = 1;
    _ = linux.write(receiver.stop_fd, std.mem.asBytes(&one), @sizeOf(u64));
    thread.join();
    receiver.thread = null;
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
