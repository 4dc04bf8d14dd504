//! Carry-less multiply helpers shared by the folding kernels (crc32c_avx2.zig,
//! crc32c_avx512.zig). Only imported by objects built with PCLMUL/VPCLMULQDQ enabled.
const math = @import("crc32c_math.zig");
const instruction = @import("crc32c_instruction.zig");

pub const Lane = @Vector(2, u64);

pub fn laneConstants(comptime distance_bits: u64) Lane {
    const k = math.foldConstants(distance_bits);
    return .{ k[0], k[1] };
}

inline fn clmulLowQuadwords(x: Lane, k: Lane) Lane {
    return asm ("vpclmulqdq $0x00, %[k], %[x], %[out]"
        : [out] "=x" (-> Lane),
        : [x] "x" (x),
          [k] "x" (k),
    );
}

inline fn clmulHighQuadwords(x: Lane, k: Lane) Lane {
    return asm ("vpclmulqdq $0x11, %[k], %[x], %[out]"
        : [out] "=x" (-> Lane),
        : [x] "x" (x),
          [k] "x" (k),
    );
}

/// x moved forward by the distance `k` was made for (see math.foldConstants).
pub inline fn foldLane(x: Lane, k: Lane) Lane {
    return clmulLowQuadwords(x, k) ^ clmulHighQuadwords(x, k);
}

pub inline fn loadLane(bytes: [*]const u8) Lane {
    return @as(*align(1) const Lane, @ptrCast(bytes)).*;
}

/// Folds 16-byte blocks into `x` while whole blocks remain, then reduces the 128-bit
/// remainder to a CRC with two `crc32` instructions from state 0 (x * x^32 mod P), and
/// finishes the tail bytes one stream wide.
pub fn finishFromLane(x_in: Lane, data: [*]const u8, offset_in: usize, len: usize) u32 {
    const k128 = comptime laneConstants(128);
    var x = x_in;
    var offset = offset_in;
    while (len - offset >= 16) : (offset += 16) x = foldLane(x, k128) ^ loadLane(data + offset);
    var state = instruction.crc32u64(0, x[0]);
    state = instruction.crc32u64(state, x[1]);
    return instruction.updateSingleStream(state, data + offset, len - offset);
}
