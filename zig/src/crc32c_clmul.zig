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

/// a * b * x^33 mod P for 32-bit reflected a and b: one carry-less multiply, then the
/// `crc32` instruction as the reduction (it computes v * x^32 mod P for a 64-bit v, and
/// the reflected product of two 32-bit values carries one more factor x).
pub inline fn multiplyTimesX33(a: u32, b: u32) u32 {
    const product = clmulLowQuadwords(Lane{ a, 0 }, Lane{ b, 0 });
    return instruction.crc32u64(0, product[0]);
}

/// shift_factors[i] = x^(2^i - 33) mod P: products through multiplyTimesX33 keep the
/// "-33" offset, so x^(n - 33) for any n is a product of the factors for n's set bits.
const shift_factors: [64]u32 = blk: {
    @setEvalBranchQuota(1_000_000);
    // x^-1 = (P - 1) / x, reflected: the polynomial shifted left with x^31 in bit 0.
    const x_inverse: u32 = (math.polynomial_reflected << 1) | 1;
    var x_minus_33: u32 = 0x80000000;
    for (0..33) |_| x_minus_33 = math.multiplyModP(x_minus_33, x_inverse);
    var factors: [64]u32 = undefined;
    var x_power_of_two: u32 = math.xPowerModP(1);
    for (0..64) |i| {
        factors[i] = math.multiplyModP(x_power_of_two, x_minus_33);
        x_power_of_two = math.multiplyModP(x_power_of_two, x_power_of_two);
    }
    break :blk factors;
};

/// The constant K with multiplyTimesX33(state, K) == state * x^(8 * byte_count) mod P:
/// appends byte_count zero bytes to a raw CRC state. byte_count >= 1.
pub fn zeroBytesShiftConstant(byte_count: u64) u32 {
    var bits = byte_count * 8;
    var result: u32 = 0;
    var have_result = false;
    var i: u6 = 0;
    while (bits != 0) : (i += 1) {
        if (bits & 1 != 0) {
            result = if (have_result) multiplyTimesX33(result, shift_factors[i]) else shift_factors[i];
            have_result = true;
        }
        bits >>= 1;
    }
    return result;
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
