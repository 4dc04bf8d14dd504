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

pub fn update(state: u32, data: [*]const u8, len: usize) u32 {
    if (len < 64) return instruction.updateSingleStream(state, data, len);
    var offset: usize = 0;
    const wide = foldToOneWide(state, data, len, &offset);
    // Lanes 0..2 move forward by 384, 256 and 128 bits onto lane 3, all in one multiply.
    const k384 = comptime clmul.laneConstants(384);
    const k256 = comptime clmul.laneConstants(256);
    const k128 = comptime clmul.laneConstants(128);
    const k_lanes = comptime Wide{ k384[0], k384[1], k256[0], k256[1], k128[0], k128[1], 0, 0 };
    const moved = foldWide(wide, k_lanes);
    const lane = laneOf(moved, 0) ^ laneOf(moved, 1) ^ laneOf(moved, 2) ^ laneOf(wide, 3);
    return clmul.finishFromLane(lane, data, offset, len);
}

fn exportedUpdate(state: u32, data: [*]const u8, len: usize) callconv(.c) u32 {
    return update(state, data, len);
}

comptime {
    @export(&exportedUpdate, .{ .name = "rudp_internal_crc32c_vpclmulqdq", .visibility = .hidden });
}
