//! Buffer pool: one mmap'd slab cut into cache-line-aligned blocks of six size classes
//! (64 B .. 64 KiB), placed on a NUMA node with mbind before the pages are touched, then
//! verified with get_mempolicy. Blocks are named by their byte offset in the slab, so JS
//! can view the whole slab once (toArrayBuffer over rudp_pool_base) and never copy.
//! Free lists are index stacks allocated at create; alloc/free never allocate.
//! A per-block bitmap makes a double free a counted status, never a corruption.
const std = @import("std");
const linux = std.os.linux;
const Status = @import("status.zig").Status;
const numa = @import("numa.zig");

pub const class_bytes = [_]u32{ 64, 256, 1024, 4096, 16384, 65536 };
pub const class_count = class_bytes.len;
pub const blocks_per_class_max: u32 = 1 << 20;
/// Offsets cross the ABI as u32.
pub const slab_bytes_max: u64 = 1 << 32;
pub const pools_max = 16;
const page_bytes = 4096;

/// Fields written per class by rudp_pool_counters, in this order.
pub const CounterField = enum(u32) { block_bytes, capacity, in_use, free, high_water, refused, double_frees, invalid_frees };
pub const counter_fields = @typeInfo(CounterField).@"enum".fields.len;

/// Fields written by rudp_pool_placement, in this order.
pub const PlacementField = enum(u32) { requested_node, target_node, actual_node, mbind_status, mbind_errno, pages_checked, pages_off_node };
pub const placement_fields = @typeInfo(PlacementField).@"enum".fields.len;

const SizeClass = struct {
    block_bytes: u32,
    capacity: u32,
    slab_offset: u32,
    /// Indices of free blocks; free_stack[0..free_count] are free.
    free_stack: []u32,
    free_count: u32,
    /// One bit per block, set while the block is allocated.
    in_use_bits: []u64,
    high_water: u32 = 0,
    refused: u64 = 0,
    double_frees: u64 = 0,
    invalid_frees: u64 = 0,

    fn inUse(self: *const SizeClass) u32 {
        return self.capacity - self.free_count;
    }
};

pub const Placement = struct {
    requested_node: i32,
    target_node: i32 = -1,
    actual_node: i32 = -1,
    mbind_status: Status = .ok,
    mbind_errno: u16 = 0,
    pages_checked: u32 = 0,
    pages_off_node: u32 = 0,
};

pub const Pool = struct {
    slab: []align(page_bytes) u8,
    classes: [class_count]SizeClass,
    placement: Placement,
    mutex: std.Thread.Mutex = .{},
    free_stacks: []u32,
    in_use_words: []u64,

    /// Offset of a free block of class `class_index`, or null (counted as refused).
    pub fn allocClass(self: *Pool, class_index: usize) ?u32 {
        self.mutex.lock();
        defer self.mutex.unlock();
        const class = &self.classes[class_index];
        if (class.free_count == 0) {
            class.refused += 1;
            return null;
        }
        class.free_count -= 1;
        const block = class.free_stack[class.free_count];
        class.in_use_bits[block / 64] |= @as(u64, 1) << @intCast(block % 64);
        class.high_water = @max(class.high_water, class.inUse());
        return class.slab_offset + block * class.block_bytes;
    }

    pub fn free(self: *Pool, offset: u64) Status {
        const class_index = classOfOffset(self, offset) orelse return .invalid_argument;
        self.mutex.lock();
        defer self.mutex.unlock();
        const class = &self.classes[class_index];
        const relative = offset - class.slab_offset;
        if (relative % class.block_bytes != 0) {
            class.invalid_frees += 1;
            return .invalid_argument;
        }
        const block: u32 = @intCast(relative / class.block_bytes);
        const bit = @as(u64, 1) << @intCast(block % 64);
        if (class.in_use_bits[block / 64] & bit == 0) {
            class.double_frees += 1;
            return .double_free;
        }
        class.in_use_bits[block / 64] &= ~bit;
        class.free_stack[class.free_count] = block;
        class.free_count += 1;
        return .ok;
    }

    fn classOfOffset(self: *const Pool, offset: u64) ?usize {
        for (&self.classes, 0..) |*class, i| {
            const end = @as(u64, class.slab_offset) + @as(u64, class.capacity) * class.block_bytes;
            if (offset >= class.slab_offset and offset < end) return i;
        }
        return null;
    }
};

pub fn classForSize(size: u64) ?usize {
    for (class_bytes, 0..) |bytes, i| if (size <= bytes) return i;
    return null;
}

fn alignUp(value: u64, alignment: u64) u64 {
    return (value + alignment - 1) / alignment * alignment;
}

fn mapAnonymous(len: usize) ?[]align(page_bytes) u8 {
    const rc = linux.mmap(null, len, linux.PROT.READ | linux.PROT.WRITE, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    if (numa.errnoOf(rc) != 0) return null;
    const ptr: [*]align(page_bytes) u8 = @ptrFromInt(rc);
    return ptr[0..len];
}

fn unmap(memory: []align(page_bytes) u8) void {
    _ = linux.munmap(memory.ptr, memory.len);
}

/// mbind the untouched slab, touch every page, then ask the kernel where pages landed.
fn placeAndTouch(slab: []align(page_bytes) u8, requested_node: i32) Placement {
    var placement = Placement{ .requested_node = requested_node };
    const local = numa.currentCpuAndNode();
    const target: i32 = if (requested_node >= 0) requested_node else if (local) |where| @intCast(where.node) else -1;
    placement.target_node = target;
    if (target >= 0) {
        // A chosen node is a hard requirement (BIND); "local" is a preference that may spill.
        const mode = if (requested_node >= 0) numa.mpol_bind else numa.mpol_preferred;
        const errno = numa.bindRange(@intFromPtr(slab.ptr), slab.len, mode, @intCast(target));
        placement.mbind_errno = errno;
        placement.mbind_status = switch (errno) {
            0 => .ok,
            @intFromEnum(linux.E.PERM), @intFromEnum(linux.E.NOSYS) => .placement_refused,
            @intFromEnum(linux.E.INVAL) => .invalid_argument,
            else => .not_supported,
        };
    } else placement.mbind_status = .not_supported;
    var page: usize = 0;
    while (page < slab.len) : (page += page_bytes) slab[page] = 0;
    // Check a bounded sample of pages: first, last and up to 62 evenly between.
    const pages_total = slab.len / page_bytes;
    const sample_count = @min(pages_total, 64);
    for (0..sample_count) |i| {
        const page_index = if (sample_count <= 1) 0 else i * (pages_total - 1) / (sample_count - 1);
        const node = numa.nodeOfAddress(@intFromPtr(slab.ptr) + page_index * page_bytes);
        if (node < 0) break;
        if (placement.pages_checked == 0) placement.actual_node = node;
        placement.pages_checked += 1;
        if (target >= 0 and node != target) placement.pages_off_node += 1;
    }
    return placement;
}

pub const CreateError = error{ InvalidArgument, OutOfMemory };

pub fn create(blocks_per_class: [class_count]u32, requested_node: i32) CreateError!*Pool {
    if (requested_node >= numa.node_count_max or requested_node < -1) return error.InvalidArgument;
    var slab_bytes: u64 = 0;
    var stack_entries: usize = 0;
    var bit_words: usize = 0;
    for (blocks_per_class, class_bytes) |blocks, bytes| {
        if (blocks > blocks_per_class_max) return error.InvalidArgument;
        slab_bytes = alignUp(slab_bytes + @as(u64, blocks) * bytes, page_bytes);
        stack_entries += blocks;
        bit_words += (blocks + 63) / 64;
    }
    if (slab_bytes == 0 or slab_bytes > slab_bytes_max) return error.InvalidArgument;
    const allocator = std.heap.page_allocator;
    const pool = allocator.create(Pool) catch return error.OutOfMemory;
    errdefer allocator.destroy(pool);
    const free_stacks = allocator.alloc(u32, stack_entries) catch return error.OutOfMemory;
    errdefer allocator.free(free_stacks);
    const in_use_words = allocator.alloc(u64, bit_words) catch return error.OutOfMemory;
    errdefer allocator.free(in_use_words);
    @memset(in_use_words, 0);
    const slab = mapAnonymous(@intCast(slab_bytes)) orelse return error.OutOfMemory;
    pool.* = .{
        .slab = slab,
        .classes = undefined,
        .placement = placeAndTouch(slab, requested_node),
        .free_stacks = free_stacks,
        .in_use_words = in_use_words,
    };
    carveClasses(pool, blocks_per_class);
    return pool;
}

fn carveClasses(pool: *Pool, blocks_per_class: [class_count]u32) void {
    var slab_offset: u64 = 0;
    var stack_used: usize = 0;
    var bit_words_used: usize = 0;
    for (&pool.classes, blocks_per_class, class_bytes) |*class, blocks, bytes| {
        const bit_words = (blocks + 63) / 64;
        const stack = pool.free_stacks[stack_used..][0..blocks];
        const bits = pool.in_use_words[bit_words_used..][0..bit_words];
        stack_used += blocks;
        bit_words_used += bit_words;
        // Hand out low offsets first: the stack pops from the end.
        for (stack, 0..) |*entry, i| entry.* = @intCast(blocks - 1 - i);
        class.* = .{
            .block_bytes = bytes,
            .capacity = blocks,
            .slab_offset = @intCast(slab_offset),
            .free_stack = stack,
            .free_count = blocks,
            .in_use_bits = bits,
        };
        slab_offset = alignUp(slab_offset + @as(u64, blocks) * bytes, page_bytes);
    }
}

pub fn destroy(pool: *Pool) void {
    unmap(pool.slab);
    std.heap.page_allocator.free(pool.free_stacks);
    std.heap.page_allocator.free(pool.in_use_words);
    std.heap.page_allocator.destroy(pool);
}

// Handle table: the ABI passes small integers, never raw pointers to Pool.
var pools: [pools_max]?*Pool = [_]?*Pool{null} ** pools_max;
var pools_mutex: std.Thread.Mutex = .{};

/// For Zig callers (the receive thread): the pool behind a handle, or null. Lock-free
/// (alloc/free are hot); destroying a pool while another thread still uses its handle is
/// the caller's bug, as with any free.
pub fn poolOfHandle(handle: i32) ?*Pool {
    if (handle < 0 or handle >= pools_max) return null;
    return @atomicLoad(?*Pool, &pools[@intCast(handle)], .acquire);
}

/// blocks_per_class: 6 counts (64 B, 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB); numa_node: a node
/// to bind to, or -1 for the calling thread's node (preferred). Returns a handle >= 0, or
/// invalid_argument / out_of_memory (also when all 16 handles are taken).
export fn rudp_pool_create(blocks_per_class: [*]const u32, numa_node: i32) c_int {
    const pool = create(blocks_per_class[0..class_count].*, numa_node) catch |err| return switch (err) {
        error.InvalidArgument => @intFromEnum(Status.invalid_argument),
        error.OutOfMemory => @intFromEnum(Status.out_of_memory),
    };
    pools_mutex.lock();
    defer pools_mutex.unlock();
    for (&pools, 0..) |*slot, handle| {
        if (slot.* == null) {
            @atomicStore(?*Pool, slot, pool, .release);
            return @intCast(handle);
        }
    }
    destroy(pool);
    return @intFromEnum(Status.out_of_memory);
}

export fn rudp_pool_destroy(handle: i32) c_int {
    if (handle < 0 or handle >= pools_max) return @intFromEnum(Status.invalid_argument);
    pools_mutex.lock();
    defer pools_mutex.unlock();
    const pool = pools[@intCast(handle)] orelse return @intFromEnum(Status.invalid_argument);
    @atomicStore(?*Pool, &pools[@intCast(handle)], null, .release);
    destroy(pool);
    return @intFromEnum(Status.ok);
}

/// Offset (>= 0) of a block of class `class_index` (0..5), or pool_exhausted / invalid_argument.
export fn rudp_pool_alloc_class(handle: i32, class_index: u32) i64 {
    const pool = poolOfHandle(handle) orelse return @intFromEnum(Status.invalid_argument);
    if (class_index >= class_count) return @intFromEnum(Status.invalid_argument);
    return pool.allocClass(class_index) orelse @intFromEnum(Status.pool_exhausted);
}

/// Offset of a block of the smallest class that holds `size_bytes`; message_too_large above 64 KiB.
export fn rudp_pool_alloc(handle: i32, size_bytes: u32) i64 {
    const class_index = classForSize(size_bytes) orelse return @intFromEnum(Status.message_too_large);
    return rudp_pool_alloc_class(handle, @intCast(class_index));
}

/// ok, double_free (counted, nothing changes) or invalid_argument (not a block start).
export fn rudp_pool_free(handle: i32, offset: u32) c_int {
    const pool = poolOfHandle(handle) orelse return @intFromEnum(Status.invalid_argument);
    return @intFromEnum(pool.free(offset));
}

export fn rudp_pool_base(handle: i32) ?*anyopaque {
    const pool = poolOfHandle(handle) orelse return null;
    return pool.slab.ptr;
}

export fn rudp_pool_size_bytes(handle: i32) u64 {
    const pool = poolOfHandle(handle) orelse return 0;
    return pool.slab.len;
}

/// Writes 8 u64 per class (CounterField order) into out; returns u64s written or invalid_argument.
export fn rudp_pool_counters(handle: i32, out: [*]u64, out_len: u32) c_int {
    const pool = poolOfHandle(handle) orelse return @intFromEnum(Status.invalid_argument);
    if (out_len < class_count * counter_fields) return @intFromEnum(Status.invalid_argument);
    pool.mutex.lock();
    defer pool.mutex.unlock();
    for (&pool.classes, 0..) |*class, i| {
        const row = out[i * counter_fields ..][0..counter_fields];
        row.* = .{ class.block_bytes, class.capacity, class.inUse(), class.free_count, class.high_water, class.refused, class.double_frees, class.invalid_frees };
    }
    return class_count * counter_fields;
}

/// Writes 7 i32 (PlacementField order); mbind_status is a Status code (ok, placement_refused, ...).
export fn rudp_pool_placement(handle: i32, out: [*]i32, out_len: u32) c_int {
    const pool = poolOfHandle(handle) orelse return @intFromEnum(Status.invalid_argument);
    if (out_len < placement_fields) return @intFromEnum(Status.invalid_argument);
    const p = pool.placement;
    out[0..placement_fields].* = .{ p.requested_node, p.target_node, p.actual_node, @intFromEnum(p.mbind_status), p.mbind_errno, @intCast(p.pages_checked), @intCast(p.pages_off_node) };
    return placement_fields;
}

test "alloc, exhaustion, free, double free, invalid free" {
    const handle = rudp_pool_create(&[_]u32{ 2, 1, 0, 0, 0, 1 }, -1);
    try std.testing.expect(handle >= 0);
    defer _ = rudp_pool_destroy(handle);
    const first = rudp_pool_alloc(handle, 10);
    const second = rudp_pool_alloc(handle, 64);
    try std.testing.expectEqual(@as(i64, 0), first);
    try std.testing.expectEqual(@as(i64, 64), second);
    try std.testing.expectEqual(@as(i64, @intFromEnum(Status.pool_exhausted)), rudp_pool_alloc(handle, 1));
    try std.testing.expectEqual(@as(c_int, @intFromEnum(Status.invalid_argument)), rudp_pool_free(handle, 3));
    try std.testing.expectEqual(@as(c_int, 0), rudp_pool_free(handle, 64));
    try std.testing.expectEqual(@as(c_int, @intFromEnum(Status.double_free)), rudp_pool_free(handle, 64));
    try std.testing.expectEqual(@as(i64, 4096), rudp_pool_alloc(handle, 200));
    try std.testing.expectEqual(@as(i64, @intFromEnum(Status.pool_exhausted)), rudp_pool_alloc(handle, 1024));
    try std.testing.expectEqual(@as(i64, 8192), rudp_pool_alloc(handle, 65536));
    const base: [*]u8 = @ptrCast(rudp_pool_base(handle).?);
    base[8192 + 65535] = 7; // the whole block is mapped
}
