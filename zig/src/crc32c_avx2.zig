//! PCLMULQDQ folding kernel for CPUs with AVX2 but no VPCLMULQDQ/AVX-512: eight 128-bit
//! accumulators (128 bytes per step) hide the multiply latency. Separate object built
//! with AVX2+PCLMUL+SSE4.2 (build.zig); crc32c.zig calls it only after cpuid says so.
const clmul = @import("crc32c_clmul.zig");
const instruction = @import("crc32c_instruction.zig");
const Lane = clmul.Lane;

const accumulator_count = 8;
const step_bytes = accumulator_count * 16;
const minimum_len = 2 * step_bytes;

pub fn update(state: u32, data: [*]const u8, len: usize) u32 {
    if (len < minimum_len) return instruction.updateSingleStream(state, data, len);
    const k_step = comptime clmul.laneConstants(step_bytes * 8);
    var accumulators: [accumulator_count]Lane = undefined;
    inline for (0..accumulator_count) |i| accumulators[i] = clmul.loadLane(data + 16 * i);
    accumulators[0] ^= Lane{ state, 0 };
    var offset: usize = step_bytes;
    while (len - offset >= step_bytes) : (offset += step_bytes) {
        inline for (0..accumulator_count) |i| {
            accumulators[i] = clmul.foldLane(accumulators[i], k_step) ^ clmul.loadLane(data + offset + 16 * i);
        }
    }
    // Join the accumulators in parallel: each moves forward by its distance to the last.
    var joined = accumulators[accumulator_count - 1];
    inline for (0..accumulator_count - 1) |i| {
        const k = comptime clmul.laneConstants((accumulator_count - 1 - i) * 128);
        joined ^= clmul.foldLane(accumulators[i], k);
    }
    return clmul.finishFromLane(joined, data, offset, len);
}

fn exportedUpdate(state: u32, data: [*]const u8, len: usize) callconv(.c) u32 {
    return update(state, data, len);
}

comptime {
    @export(&exportedUpdate, .{ .name = "rudp_internal_crc32c_avx2_pclmul", .visibility = .hidden });
}
