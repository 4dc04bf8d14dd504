//! Kernel for CPUs with AVX2+PCLMUL but no VPCLMULQDQ/AVX-512: for long inputs, eight
//! 128-bit PCLMULQDQ folding accumulators (128 bytes per step) run alongside three scalar
//! `crc32` streams (hybrid); short inputs and the tail use the SSE4.2 kernel. Separate
//! object built with AVX2+PCLMUL+SSE4.2 (build.zig); called only after cpuid says so.
const clmul = @import("crc32c_clmul.zig");
const instruction = @import("crc32c_instruction.zig");
const Lane = clmul.Lane;

const accumulator_count = 8;
const step_bytes = accumulator_count * 16;

// Below the hybrid size, 128-bit folding measured slower than three `crc32` streams
// (1200 B on Zen 4: 87 ns against 72 ns), so short inputs go to the SSE4.2 kernel.
extern fn rudp_internal_crc32c_sse42(state: u32, data: [*]const u8, len: usize) callconv(.c) u32;

pub fn update(state: u32, data: [*]const u8, len: usize) u32 {
    if (len >= hybrid_len_min) return updateHybrid(state, data, len);
    return rudp_internal_crc32c_sse42(state, data, len);
}

fn joinAccumulators(accumulators: *const [accumulator_count]Lane) Lane {
    // Each accumulator moves forward by its distance to the last one, all in parallel.
    var joined = accumulators[accumulator_count - 1];
    inline for (0..accumulator_count - 1) |i| {
        const k = comptime clmul.laneConstants((accumulator_count - 1 - i) * 128);
        joined ^= clmul.foldLane(accumulators[i], k);
    }
    return joined;
}

// Hybrid, as in crc32c_avx512.zig: the multiplier and the scalar `crc32` unit work at
// once; three 40-byte `crc32` streams run over the far end of the buffer.
const hybrid_stream_step_bytes = 40;
const hybrid_step_bytes = step_bytes + 3 * hybrid_stream_step_bytes;
const hybrid_len_min = 8 * hybrid_step_bytes;

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
    const k_step = comptime clmul.laneConstants(step_bytes * 8);
    var stream_states = [3]u32{ 0, 0, 0 };
    var accumulators: [accumulator_count]Lane = undefined;
    inline for (0..accumulator_count) |i| accumulators[i] = clmul.loadLane(data + 16 * i);
    accumulators[0] ^= Lane{ state, 0 };
    streamStep(&stream_states, streams, 0);
    for (1..steps) |step| {
        inline for (0..accumulator_count) |i| {
            accumulators[i] = clmul.foldLane(accumulators[i], k_step) ^ clmul.loadLane(data + step * step_bytes + 16 * i);
        }
        streamStep(&stream_states, streams, step * hybrid_stream_step_bytes);
    }
    const lane = joinAccumulators(&accumulators);
    var combined = instruction.crc32u64(instruction.crc32u64(0, lane[0]), lane[1]);
    const shift = clmul.zeroBytesShiftConstant(stream_bytes);
    inline for (0..3) |s| combined = clmul.multiplyTimesX33(combined, shift) ^ stream_states[s];
    const done = steps * hybrid_step_bytes;
    return rudp_internal_crc32c_sse42(combined, data + done, len - done);
}

fn exportedUpdate(state: u32, data: [*]const u8, len: usize) callconv(.c) u32 {
    return update(state, data, len);
}

comptime {
    @export(&exportedUpdate, .{ .name = "rudp_internal_crc32c_avx2_pclmul", .visibility = .hidden });
}
