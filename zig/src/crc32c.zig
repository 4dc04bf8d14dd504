//! CRC32C (Castagnoli, reflected 0x82F63B78) with zlib-style chaining:
//! crc32c(crc32c(0, a), b) == crc32c(0, a ++ b) and crc32c(0, "123456789") == 0xE3069283.
//! The kernel is chosen once at run time from cpuid (cpu_features.zig): VPCLMULQDQ/AVX-512
//! folding, PCLMUL folding on AVX2 CPUs, three-stream SSE4.2 `crc32`, or slicing-by-8.
//! The SIMD kernels live in objects compiled with their CPU features (build.zig) and are
//! only called after the check, so one build runs on any x86-64.
const std = @import("std");
const builtin = @import("builtin");
const Status = @import("status.zig").Status;
const cpu = @import("cpu_features.zig");
const table = @import("crc32c_table.zig");
const math = @import("crc32c_math.zig");

/// Kernel ids crossing the ABI (src/native/crc32c.ts names them).
pub const Kernel = enum(u32) { table = 0, sse42 = 1, avx2_pclmul = 2, vpclmulqdq = 3 };
/// Passed to rudp_crc32c_force_kernel: go back to the best kernel the CPU supports.
pub const kernel_auto: u32 = 255;

const KernelFn = *const fn (state: u32, data: [*]const u8, len: usize) callconv(.c) u32;
const simd_objects_linked = builtin.cpu.arch == .x86_64;

extern fn rudp_internal_crc32c_sse42(state: u32, data: [*]const u8, len: usize) callconv(.c) u32;
extern fn rudp_internal_crc32c_avx2_pclmul(state: u32, data: [*]const u8, len: usize) callconv(.c) u32;
extern fn rudp_internal_crc32c_vpclmulqdq(state: u32, data: [*]const u8, len: usize) callconv(.c) u32;

fn tableKernel(state: u32, data: [*]const u8, len: usize) callconv(.c) u32 {
    return table.update(state, data[0..len]);
}

fn kernelFn(kernel: Kernel) KernelFn {
    if (!simd_objects_linked) return &tableKernel;
    return switch (kernel) {
        .table => &tableKernel,
        .sse42 => &rudp_internal_crc32c_sse42,
        .avx2_pclmul => &rudp_internal_crc32c_avx2_pclmul,
        .vpclmulqdq => &rudp_internal_crc32c_vpclmulqdq,
    };
}

pub fn kernelSupported(kernel: Kernel, features: u32) bool {
    if (!simd_objects_linked) return kernel == .table;
    const needs: u32 = switch (kernel) {
        .table => 0,
        .sse42 => cpu.sse42,
        .avx2_pclmul => cpu.sse42 | cpu.pclmulqdq | cpu.avx2,
        .vpclmulqdq => cpu.sse42 | cpu.pclmulqdq | cpu.avx2 | cpu.avx512f | cpu.vpclmulqdq,
    };
    return features & needs == needs;
}

fn bestKernel(features: u32) Kernel {
    const preference = [_]Kernel{ .vpclmulqdq, .avx2_pclmul, .sse42 };
    for (preference) |kernel| if (kernelSupported(kernel, features)) return kernel;
    return .table;
}

const unresolved: u32 = 0xFFFF_FFFF;
var active_kernel = std.atomic.Value(u32).init(unresolved);

fn activeKernel() Kernel {
    const current = active_kernel.load(.monotonic);
    if (current != unresolved) return @enumFromInt(current);
    const best = bestKernel(cpu.get());
    active_kernel.store(@intFromEnum(best), .monotonic);
    return best;
}

/// Raw state update with the active kernel (no inversion).
fn updateRaw(state: u32, data: [*]const u8, len: usize) u32 {
    return switch (activeKernel()) {
        inline else => |kernel| kernelFn(kernel)(state, data, len),
    };
}

/// For Zig callers (the receive thread): zlib-style chaining, start with crc = 0.
pub fn crc32c(crc: u32, data: []const u8) u32 {
    return ~updateRaw(~crc, data.ptr, data.len);
}

/// Datagram trailer convention used by rudp_crc32c_verify_batch: the last 4 bytes hold,
/// little-endian, crc32c(0, everything before them). Shorter than 4 bytes never verifies.
pub fn trailerVerifies(datagram: []const u8) bool {
    if (datagram.len < 4) return false;
    const body_len = datagram.len - 4;
    const stored = std.mem.readInt(u32, datagram[body_len..][0..4], .little);
    return crc32c(0, datagram[0..body_len]) == stored;
}

export fn rudp_crc32c(crc: u32, data: [*]const u8, len: usize) u32 {
    return ~updateRaw(~crc, data, len);
}

/// Runs one named kernel: the CRC (>= 0) or Status.not_supported / invalid_argument.
export fn rudp_crc32c_kernel(kernel: u32, crc: u32, data: [*]const u8, len: usize) i64 {
    const chosen = std.meta.intToEnum(Kernel, kernel) catch return @intFromEnum(Status.invalid_argument);
    if (!kernelSupported(chosen, cpu.get())) return @intFromEnum(Status.not_supported);
    return ~kernelFn(chosen)(~crc, data, len);
}

export fn rudp_crc32c_active_kernel() u32 {
    return @intFromEnum(activeKernel());
}

/// 1 when this CPU (and OS) can run `kernel`, else 0.
export fn rudp_crc32c_kernel_supported(kernel: u32) u32 {
    const chosen = std.meta.intToEnum(Kernel, kernel) catch return 0;
    return @intFromBool(kernelSupported(chosen, cpu.get()));
}

/// Makes `kernel` the active one for every caller in the process (tests, benchmarks);
/// 255 restores the best supported kernel.
export fn rudp_crc32c_force_kernel(kernel: u32) c_int {
    if (kernel == kernel_auto) {
        active_kernel.store(@intFromEnum(bestKernel(cpu.get())), .monotonic);
        return @intFromEnum(Status.ok);
    }
    const chosen = std.meta.intToEnum(Kernel, kernel) catch return @intFromEnum(Status.invalid_argument);
    if (!kernelSupported(chosen, cpu.get())) return @intFromEnum(Status.not_supported);
    active_kernel.store(kernel, .monotonic);
    return @intFromEnum(Status.ok);
}

/// out[i] = crc32c(0, base[offsets[i] .. offsets[i] + lengths[i]]) for i < count.
export fn rudp_crc32c_batch(base: [*]const u8, offsets: [*]const u32, lengths: [*]const u32, out: [*]u32, count: u32) c_int {
    for (0..count) |i| out[i] = ~updateRaw(0xFFFF_FFFF, base + offsets[i], lengths[i]);
    return @intFromEnum(Status.ok);
}

/// verdicts[i] = 1 when datagram i carries a correct trailer (see trailerVerifies), else
/// 0. Returns how many verified.
export fn rudp_crc32c_verify_batch(base: [*]const u8, offsets: [*]const u32, lengths: [*]const u32, verdicts: [*]u8, count: u32) c_int {
    var verified: c_int = 0;
    for (0..count) |i| {
        const ok = trailerVerifies(base[offsets[i]..][0..lengths[i]]);
        verdicts[i] = @intFromBool(ok);
        verified += @intFromBool(ok);
    }
    return verified;
}

test "every supported kernel matches the bitwise reference at many lengths and alignments" {
    var buffer: [4200]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(0x5eed);
    prng.random().bytes(&buffer);
    const features = cpu.get();
    for ([_]Kernel{ .table, .sse42, .avx2_pclmul, .vpclmulqdq }) |kernel| {
        if (!kernelSupported(kernel, features)) continue;
        for ([_]usize{ 0, 1, 7, 33 }) |alignment| {
            var len: usize = 0;
            while (len + alignment <= buffer.len and len < 4096) : (len += if (len < 1100) 1 else 61) {
                const slice = buffer[alignment..][0..len];
                const expected = math.updateBitwise(0x9ABCDEF0, slice);
                try std.testing.expectEqual(expected, kernelFn(kernel)(0x9ABCDEF0, slice.ptr, slice.len));
            }
        }
    }
}

test "check value, RFC 3720 vectors and chaining" {
    try std.testing.expectEqual(@as(u32, 0xE3069283), crc32c(0, "123456789"));
    try std.testing.expectEqual(@as(u32, 0x8A9136AA), crc32c(0, &([_]u8{0} ** 32)));
    try std.testing.expectEqual(@as(u32, 0x62A8AB43), crc32c(0, &([_]u8{0xFF} ** 32)));
    try std.testing.expectEqual(crc32c(0, "123456789"), crc32c(crc32c(0, "1234"), "56789"));
}
