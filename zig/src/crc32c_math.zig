//! CRC32C (Castagnoli) arithmetic in the reflected bit order, evaluated at compile time
//! so every kernel's constants come from one definition instead of copied hex.
//! A 32-bit value `v` stands for a polynomial of degree < 32 with bit i holding the
//! coefficient of x^(31-i) (so 0x80000000 is 1 and bit 0 is x^31).
pub const polynomial_reflected: u32 = 0x82F63B78;

/// v * x mod P.
pub fn multiplyByX(v: u32) u32 {
    return (v >> 1) ^ (if (v & 1 != 0) polynomial_reflected else 0);
}

/// x^n mod P.
pub fn xPowerModP(n: u64) u32 {
    @setEvalBranchQuota(1_000_000);
    var v: u32 = 0x80000000;
    var i: u64 = 0;
    while (i < n) : (i += 1) v = multiplyByX(v);
    return v;
}

/// a * b mod P.
pub fn multiplyModP(a: u32, b: u32) u32 {
    var product: u32 = 0;
    var b_times_x_power = b;
    var i: u5 = 0;
    while (true) : (i += 1) {
        if ((a >> (31 - i)) & 1 != 0) product ^= b_times_x_power;
        b_times_x_power = multiplyByX(b_times_x_power);
        if (i == 31) break;
    }
    return product;
}

/// Tables that multiply a raw CRC state by x^(8 * byte_count) (appending byte_count zero
/// bytes) with four lookups: the "shift" step that joins CRCs of adjacent blocks.
pub fn zeroBytesShiftTables(comptime byte_count: u64) [4][256]u32 {
    @setEvalBranchQuota(10_000_000);
    const factor = xPowerModP(8 * byte_count);
    var tables: [4][256]u32 = undefined;
    for (0..4) |byte_index| {
        for (0..256) |byte_value| {
            const v: u32 = @as(u32, @intCast(byte_value)) << @intCast(8 * byte_index);
            tables[byte_index][byte_value] = multiplyModP(v, factor);
        }
    }
    return tables;
}

pub fn shiftByTables(tables: *const [4][256]u32, state: u32) u32 {
    return tables[0][state & 0xff] ^ tables[1][(state >> 8) & 0xff] ^
        tables[2][(state >> 16) & 0xff] ^ tables[3][state >> 24];
}

/// Folding constants for carry-less multiply kernels. A 128-bit lane holding polynomial
/// X = Xa*x^64 + Xb (Xa in the low quadword, reflected) moved forward by distance_bits
/// becomes clmul(Xa, K_low) ^ clmul(Xb, K_high) with K_low = x^(d+31) mod P and
/// K_high = x^(d-33) mod P: the -1 in both undoes the one-bit shift of a reflected clmul
/// and the extra x^32 places the 32-bit constant in the low half of its quadword.
pub fn foldConstants(comptime distance_bits: u64) [2]u64 {
    return .{ xPowerModP(distance_bits + 31), xPowerModP(distance_bits - 33) };
}

/// Byte-wise reference update on a raw (not inverted) state; used by tails and tests.
pub fn updateBitwise(state_in: u32, data: []const u8) u32 {
    var state = state_in;
    for (data) |byte| {
        state ^= byte;
        for (0..8) |_| state = multiplyByX(state);
    }
    return state;
}

test "x^0 is one and multiplication agrees with powers" {
    const std = @import("std");
    try std.testing.expectEqual(@as(u32, 0x80000000), xPowerModP(0));
    try std.testing.expectEqual(xPowerModP(100), multiplyModP(xPowerModP(40), xPowerModP(60)));
    try std.testing.expectEqual(@as(u32, 0xE3069283), ~updateBitwise(0xFFFFFFFF, "123456789"));
}
