//! Slicing-by-8 CRC32C: the portable kernel, used on CPUs without SSE4.2 and for tests.
//! Works on the raw state (no pre/post inversion); crc32c.zig does the inversion.
const math = @import("crc32c_math.zig");

const tables: [8][256]u32 = blk: {
    @setEvalBranchQuota(100_000);
    var t: [8][256]u32 = undefined;
    for (0..256) |byte_value| t[0][byte_value] = math.updateBitwise(0, &[_]u8{@intCast(byte_value)});
    for (1..8) |slice| {
        for (0..256) |byte_value| {
            const previous = t[slice - 1][byte_value];
            t[slice][byte_value] = (previous >> 8) ^ t[0][previous & 0xff];
        }
    }
    break :blk t;
};

pub fn update(state_in: u32, data: []const u8) u32 {
    var state = state_in;
    var rest = data;
    while (rest.len >= 8) {
        const word = @import("std").mem.readInt(u64, rest[0..8], .little) ^ state;
        state = tables[7][word & 0xff] ^ tables[6][(word >> 8) & 0xff] ^
            tables[5][(word >> 16) & 0xff] ^ tables[4][(word >> 24) & 0xff] ^
            tables[3][(word >> 32) & 0xff] ^ tables[2][(word >> 40) & 0xff] ^
            tables[1][(word >> 48) & 0xff] ^ tables[0][word >> 56];
        rest = rest[8..];
    }
    for (rest) |byte| state = (state >> 8) ^ tables[0][(state ^ byte) & 0xff];
    return state;
}

test "slicing-by-8 matches the bitwise reference" {
    const std = @import("std");
    var buffer: [300]u8 = undefined;
    for (&buffer, 0..) |*b, i| b.* = @truncate(i *% 131 +% 7);
    for (0..buffer.len) |len| {
        try std.testing.expectEqual(math.updateBitwise(0x12345678, buffer[0..len]), update(0x12345678, buffer[0..len]));
    }
}
