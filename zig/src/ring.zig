//! Lock-free single-producer single-consumer ring of fixed 32-byte descriptors in native
//! memory that TypeScript reads through views (src/native/receiver.ts).
//!
//! Memory layout (one mmap, page aligned; byte offsets; u32 little-endian):
//!     0  head      consumer position (written by the consumer only)     cache line 0
//!    64  tail      producer position (written by the producer only)     cache line 1
//!   128  idle      1 = the consumer drained the ring empty and waits for a doorbell;
//!                  the producer swaps it to 0 and rings once per idle period   line 2
//!   192  capacity, descriptor_bytes (read-only after init)              line 3
//!   256  descriptors[capacity], 32 bytes each
//! head and tail are free-running u32 counters (wrap at 2^32); count = tail - head
//! (wrapping), slot = position & (capacity - 1). Capacity is a power of two <= 2^24.
//!
//! Ordering: the producer writes descriptors, then stores tail with release (seq_cst
//! when it then reads `idle`, see publish); the consumer loads tail with acquire, reads
//! descriptors, then stores head with release, which hands the descriptors (and the
//! buffer slots they point at) back to the producer.
const std = @import("std");
const linux = std.os.linux;
const Status = @import("status.zig").Status;
const Descriptor = @import("batch_io.zig").Descriptor;

pub const head_offset = 0;
pub const tail_offset = 64;
pub const idle_offset = 128;
pub const header_offset = 192;
pub const descriptors_offset = 256;
pub const capacity_max: u32 = 1 << 24;

pub fn ringBytes(capacity: u32) usize {
    return descriptors_offset + @as(usize, capacity) * @sizeOf(Descriptor);
}

pub const Ring = struct {
    memory: [*]align(std.heap.page_size_min) u8,
    capacity: u32,
    mask: u32,
    /// Producer-local copy of head: re-read only when the ring looks full.
    head_cached: u32 = 0,

    pub fn init(capacity: u32) error{ InvalidCapacity, OutOfMemory }!Ring {
        if (capacity < 2 or capacity > capacity_max or !std.math.isPowerOfTwo(capacity)) return error.InvalidCapacity;
        const bytes = ringBytes(capacity);
        const rc = linux.mmap(null, bytes, linux.PROT.READ | linux.PROT.WRITE, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
        if (linux.E.init(rc) != .SUCCESS) return error.OutOfMemory;
        const ring = Ring{ .memory = @ptrFromInt(rc), .capacity = capacity, .mask = capacity - 1 };
        ring.word(header_offset).* = capacity;
        ring.word(header_offset + 4).* = @sizeOf(Descriptor);
        return ring; // mmap memory is zero: head = tail = idle = 0
    }

    pub fn deinit(self: *Ring) void {
        _ = linux.munmap(self.memory, ringBytes(self.capacity));
        self.* = undefined;
    }

    pub fn word(self: Ring, offset: usize) *u32 {
        return @ptrCast(@alignCast(self.memory + offset));
    }

    pub fn slot(self: Ring, position: u32) *Descriptor {
        const offset = descriptors_offset + @as(usize, position & self.mask) * @sizeOf(Descriptor);
        return @ptrCast(@alignCast(self.memory + offset));
    }

    // ---- producer side -------------------------------------------------------------

    /// Consumer position as seen by the producer (acquire: the consumer is done with
    /// everything before it, descriptors and buffer slots alike).
    pub fn headAcquire(self: *Ring) u32 {
        self.head_cached = @atomicLoad(u32, self.word(head_offset), .acquire);
        return self.head_cached;
    }

    /// Free descriptor slots; re-reads head only when the cached value says full enough.
    pub fn freeSlots(self: *Ring, tail: u32, wanted: u32) u32 {
        var free = self.capacity - (tail -% self.head_cached);
        if (free < wanted) free = self.capacity - (tail -% self.headAcquire());
        return free;
    }

    pub fn tailRelaxed(self: Ring) u32 {
        return @atomicLoad(u32, self.word(tail_offset), .monotonic);
    }

    /// Makes descriptors up to `tail` visible. Returns true when the consumer had said it
    /// was idle (the flag is cleared here, so exactly one doorbell per idle period).
    /// seq_cst store then seq_cst load: either we see idle = 1, or the consumer, which
    /// stores idle = 1 and then re-reads tail, sees our new tail (no lost wake-up).
    pub fn publish(self: *Ring, tail: u32) bool {
        @atomicStore(u32, self.word(tail_offset), tail, .seq_cst);
        if (@atomicLoad(u32, self.word(idle_offset), .seq_cst) == 0) return false;
        return @atomicRmw(u32, self.word(idle_offset), .Xchg, 0, .seq_cst) == 1;
    }

    /// One descriptor at a time (tests and slow paths); returns false when full.
    pub fn tryPush(self: *Ring, descriptor: Descriptor) bool {
        const tail = self.tailRelaxed();
        if (self.freeSlots(tail, 1) == 0) return false;
        self.slot(tail).* = descriptor;
        _ = self.publish(tail +% 1);
        return true;
    }

    // ---- consumer side (TypeScript does the same through views) ---------------------

    pub fn tryPop(self: *Ring) ?Descriptor {
        const head = @atomicLoad(u32, self.word(head_offset), .monotonic);
        const tail = @atomicLoad(u32, self.word(tail_offset), .acquire);
        if (head == tail) return null;
        const descriptor = self.slot(head).*;
        @atomicStore(u32, self.word(head_offset), head +% 1, .release);
        return descriptor;
    }
};

/// Creates a ring; its address goes to `out_address` (views: see the layout above).
export fn rudp_ring_create(capacity: u32, out_address: *u64) c_int {
    const ring = Ring.init(capacity) catch |err| return @intFromEnum(switch (err) {
        error.InvalidCapacity => Status.invalid_argument,
        error.OutOfMemory => Status.out_of_memory,
    });
    out_address.* = @intFromPtr(ring.memory);
    return 0;
}

fn ringAt(address: u64) ?Ring {
    if (address == 0 or address % std.heap.page_size_min != 0) return null;
    const memory: [*]align(std.heap.page_size_min) u8 = @ptrFromInt(address);
    const capacity = @as(*const u32, @ptrCast(@alignCast(memory + header_offset))).*;
    if (capacity < 2 or capacity > capacity_max or !std.math.isPowerOfTwo(capacity)) return null;
    return Ring{ .memory = memory, .capacity = capacity, .mask = capacity - 1 };
}

export fn rudp_ring_destroy(address: u64) c_int {
    var ring = ringAt(address) orelse return @intFromEnum(Status.invalid_argument);
    ring.deinit();
    return 0;
}

export fn rudp_ring_bytes(capacity: u32) u64 {
    return ringBytes(capacity);
}

// ---- test producer: a Zig thread that pushes sequence numbers, for ring tests in TS ----

const TestProducer = struct {
    ring: Ring,
    count: u32,
    full_spins: u64 = 0,
    thread: std.Thread = undefined,

    fn run(self: *TestProducer) void {
        var sequence: u32 = 0;
        var tail = self.ring.tailRelaxed();
        while (sequence < self.count) {
            if (self.ring.freeSlots(tail, 1) == 0) {
                self.full_spins += 1;
                std.Thread.yield() catch {};
                continue;
            }
            self.ring.slot(tail).* = .{ .offset = sequence, .length = ~sequence, .segment_bytes = 0, .flags = 0, .address = [_]u8{0} ** 20 };
            tail +%= 1;
            sequence += 1;
            // Publish every 7 items and at the end, so the consumer sees partial batches.
            if (sequence % 7 == 0 or sequence == self.count) _ = self.ring.publish(tail);
        }
    }
};

/// Starts a thread that pushes `count` descriptors {offset = i, length = ~i} (yielding
/// while the ring is full). For tests of consumers; join with rudp_ring_test_producer_join.
export fn rudp_ring_test_producer_start(ring_address: u64, count: u32, out_handle: *u64) c_int {
    const ring = ringAt(ring_address) orelse return @intFromEnum(Status.invalid_argument);
    const producer = std.heap.page_allocator.create(TestProducer) catch return @intFromEnum(Status.out_of_memory);
    producer.* = .{ .ring = ring, .count = count };
    producer.thread = std.Thread.spawn(.{}, TestProducer.run, .{producer}) catch {
        std.heap.page_allocator.destroy(producer);
        return @intFromEnum(Status.thread_error);
    };
    out_handle.* = @intFromPtr(producer);
    return 0;
}

/// Joins the test producer; returns how often it found the ring full (clamped to i32).
export fn rudp_ring_test_producer_join(handle: u64) c_int {
    if (handle == 0) return @intFromEnum(Status.invalid_argument);
    const producer: *TestProducer = @ptrFromInt(handle);
    producer.thread.join();
    const spins = producer.full_spins;
    std.heap.page_allocator.destroy(producer);
    return @intCast(@min(spins, std.math.maxInt(i32)));
}

test "ring wraps around under a producer thread with sequence numbers intact" {
    var ring = try Ring.init(64);
    defer ring.deinit();
    const count: u32 = 200_000; // ~3000 wraps of a 64-slot ring
    var producer = TestProducer{ .ring = ring, .count = count };
    const thread = try std.Thread.spawn(.{}, TestProducer.run, .{&producer});
    var expected: u32 = 0;
    var empty_polls: u64 = 0;
    while (expected < count) {
        if (ring.tryPop()) |descriptor| {
            try std.testing.expectEqual(expected, descriptor.offset);
            try std.testing.expectEqual(~expected, descriptor.length);
            expected += 1;
        } else {
            empty_polls += 1;
            std.Thread.yield() catch {};
        }
    }
    thread.join();
    try std.testing.expect(ring.tryPop() == null);
    try std.testing.expectEqual(count, ring.tailRelaxed());
}

test "ring refuses a push when full and the idle flag rings once" {
    var ring = try Ring.init(4);
    defer ring.deinit();
    const descriptor = Descriptor{ .offset = 1, .length = 2, .segment_bytes = 0, .flags = 0, .address = [_]u8{0} ** 20 };
    for (0..4) |_| try std.testing.expect(ring.tryPush(descriptor));
    try std.testing.expect(!ring.tryPush(descriptor));
    for (0..4) |_| _ = ring.tryPop().?;
    @atomicStore(u32, ring.word(idle_offset), 1, .seq_cst);
    try std.testing.expect(ring.publish(ring.tailRelaxed())); // consumer was idle: ring
    try std.testing.expect(!ring.publish(ring.tailRelaxed())); // once per idle period
    try std.testing.expectError(error.InvalidCapacity, Ring.init(3));
}
