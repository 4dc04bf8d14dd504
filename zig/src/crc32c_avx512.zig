//! VPCLMULQDQ + AVX-512 folding kernel: four 512-bit accumulators (256 bytes per step),
//! each holding four 128-bit lanes folded independently. Separate object built with
//! AVX-512F+VPCLMULQDQ (build.zig); crc32c.zig calls it only after cpuid and XGETBV say
//! the CPU and the OS support it.
const clmul = @import("crc32c_clmul.zig");
const instruction = @import("crc32c_instruction.zig");
const Lane = clmul.Lane;
const Wide = @Vector(8, u64);

const accumulator_count = 4;
const step_bytes = accumulator_count * 64;

fn broadcast(lane: Lane) Wide {
    return .{ lane[0], lane[1], lane[0], lane[1], lane[0], lane[1], lane[0], lane[1] };
}

inline fn foldWide(x: Wide, k: Wide) Wide {
    const low = asm ("vpclmulqdq $0x00, %[k], %[x], %[out]"
        : [out] "=v" (-> Wide),
        : [x] "v" (x),
          [k] "v" (k),
    );
    const high = asm ("vpclmulqdq $0x11, %[k], %[x], %[out]"
        : [out] "=v" (-> Wide),
        : [x] "v" (x),
          [k] "v" (k),
    );
    return low ^ high;
}

inline fn loadWide(bytes: [*]const u8) Wide {
    return @as(*align(1) const Wide, @ptrCast(bytes)).*;
}

inline fn laneOf(x: Wide, comptime index: i32) Lane {
    return .{ x[2 * index], x[2 * index + 1] };
}

/// Folds the input into one 512-bit accumulator; returns it and the bytes consumed.
fn foldToOneWide(state: u32, data: [*]const u8, len: usize, offset_out: *usize) Wide {
    const k_step = comptime broadcast(clmul.laneConstants(step_bytes * 8));
    const k512 = comptime broadcast(clmul.laneConstants(512));
    const first_state = Wide{ state, 0, 0, 0, 0, 0, 0, 0 };
    var offset: usize = 0;
    var joined: Wide = undefined;
    if (len >= 2 * step_bytes) {
        var accumulators: [accumulator_count]Wide = undefined;
        inline for (0..accumulator_count) |i| accumulators[i] = loadWide(data + 64 * i);
        accumulators[0] ^= first_state;
        offset = step_bytes;
        while (len - offset >= step_bytes) : (offset += step_bytes) {
            inline for (0..accumulator_count) |i| {
                accumulators[i] = foldWide(accumulators[i], k_step) ^ loadWide(data + offset + 64 * i);
            }
        }
        joined = accumulators[accumulator_count - 1];
        inline for (0..accumulator_count - 1) |i| {
            const k = comptime broadcast(clmul.laneConstants((accumulator_count - 1 - i) * 512));
            joined ^= foldWide(accumulators[i], k);
        }
    } else {
        joined = loadWide(data) ^ first_state;
        offset = 64;
    }
    while (len - offset >= 64) : (offset += 64) joined = foldWide(joined, k512) ^ loadWide(data + offset);
    offset_out.* = offset;
    return joined;
}

/// Lanes 0..2 move forward by 384, 256 and 128 bits onto lane 3, all in one multiply.
fn reduceWideToLane(wide: Wide) Lane {
    const k384 = comptime clmul.laneConstants(384);
    const k256 = comptime clmul.laneConstants(256);
    const k128 = comptime clmul.laneConstants(128);
    const k_lanes = comptime Wide{ k384[0], k384[1], k256[0], k256[1], k128[0], k128[1], 0, 0 };
    const moved = foldWide(wide, k_lanes);
    return laneOf(moved, 0) ^ laneOf(moved, 1) ^ laneOf(moved, 2) ^ laneOf(wide, 3);
}

pub fn update(state: u32, data: [*]const u8, len: usize) u32 {
    if (len >= hybrid_len_min) return updateHybrid(state, data, len);
    return updateFolding(state, data, len);
}

fn updateFolding(state: u32, data: [*]const u8, len: usize) u32 {
    if (len < 64) return instruction.updateSingleStream(state, data, len);
    var offset: usize = 0;
    const wide = foldToOneWide(state, data, len, &offset);
    return clmul.finishFromLane(reduceWideToLane(wide), data, offset, len);
}

// Hybrid: the carry-less multiplier is the bottleneck of pure folding (on Zen 4 a 512-bit
// vpclmulqdq issues every other cycle), while the scalar `crc32` unit sits idle. Each step
// folds 256 bytes in vector registers and runs three `crc32` streams of 40 bytes over the
// far end of the buffer; the four CRCs are joined at the end by multiplying by x^(8*n).
const hybrid_stream_step_bytes = 40;
const hybrid_step_bytes = step_bytes + 3 * hybrid_stream_step_bytes;
const hybrid_len_min = 4 * hybrid_step_bytes;

inline fn streamStep(states: *[3]u32, streams: [3][*]const u8, offset: usize) void {
    inline for (0..hybrid_stream_step_bytes / 8) |word| {
        inline for (0..3) |s| {
            states[s] = instruction.crc32u64(states[s], instruction.load64(streams[s] + offset + 8 * word));
        }
    }
}

fn updateHybrid(state: u32, data: [*]const u8, len: usize) u32 {
    const steps = len / hybrid_step_bytes;
    const vector_bytes = steps * step_bytes;
    const stream_bytes = steps * hybrid_stream_step_bytes;
    const streams = [3][*]const u8{ data + vector_bytes, data + vector_bytes + stream_bytes, data + vector_bytes + 2 * stream_bytes };
    const k_step = comptime broadcast(clmul.laneConstants(step_bytes * 8));
    var stream_states = [3]u32{ 0, 0, 0 };
    var accumulators: [accumulator_count]Wide = undefined;
    inline for (0..accumulator_count) |i| accumulators[i] = loadWide(data + 64 * i);
    accumulators[0] ^= Wide{ state, 0, 0, 0, 0, 0, 0, 0 };
    streamStep(&stream_states, streams, 0);
    for (1..steps) |step| {
        inline for (0..accumulator_count) |i| {
            accumulators[i] = foldWide(accumulators[i], k_step) ^ loadWide(data + step * step_bytes + 64 * i);
        }
        streamStep(&stream_states, streams, step * hybrid_stream_step_bytes);
    }
    var joined = accumulators[accumulator_count - 1];
    inline for (0..accumulator_count - 1) |i| {
        const k = comptime broadcast(clmul.laneConstants((accumulator_count - 1 - i) * 512));
        joined ^= foldWide(accumulators[i], k);
    }
    const lane = reduceWideToLane(joined);
    var combined = instruction.crc32u64(instruction.crc32u64(0, lane[0]), lane[1]);
    const shift = clmul.zeroBytesShiftConstant(stream_bytes);
    inline for (0..3) |s| combined = clmul.multiplyTimesX33(combined, shift) ^ stream_states[s];
    const done = steps * hybrid_step_bytes;
    return updateFolding(combined, data + done, len - done);
}

fn exportedUpdate(state: u32, data: [*]const u8, len: usize) callconv(.c) u32 {
    return update(state, data, len);
}

comptime {
    @export(&exportedUpdate, .{ .name = "rudp_internal_crc32c_vpclmulqdq", .visibility = .hidden });
}
