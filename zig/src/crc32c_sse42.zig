//! SSE4.2 kernel: three independent `crc32` streams hide the instruction's 3-cycle
//! latency (one issues per cycle), then the three CRCs are joined by multiplying the
//! earlier ones by x^(8*block) with 4-lookup shift tables (Mark Adler's crc32c.c design).
//! Built as a separate object with SSE4.2 enabled (build.zig); called only after cpuid.
const math = @import("crc32c_math.zig");
const instruction = @import("crc32c_instruction.zig");

const long_block_bytes = 8192;
const short_block_bytes = 256;
const long_shift_tables = math.zeroBytesShiftTables(long_block_bytes);
const short_shift_tables = math.zeroBytesShiftTables(short_block_bytes);

inline fn threeStreams(state: u32, data: [*]const u8, comptime block_bytes: usize, tables: *const [4][256]u32) u32 {
    var state0 = state;
    var state1: u32 = 0;
    var state2: u32 = 0;
    var offset: usize = 0;
    while (offset < block_bytes) : (offset += 8) {
        state0 = instruction.crc32u64(state0, instruction.load64(data + offset));
        state1 = instruction.crc32u64(state1, instruction.load64(data + block_bytes + offset));
        state2 = instruction.crc32u64(state2, instruction.load64(data + 2 * block_bytes + offset));
    }
    const joined = math.shiftByTables(tables, state0) ^ state1;
    return math.shiftByTables(tables, joined) ^ state2;
}

pub fn update(state_in: u32, data: [*]const u8, len: usize) u32 {
    var state = state_in;
    var offset: usize = 0;
    while (len - offset >= 3 * long_block_bytes) : (offset += 3 * long_block_bytes) {
        state = threeStreams(state, data + offset, long_block_bytes, &long_shift_tables);
    }
    while (len - offset >= 3 * short_block_bytes) : (offset += 3 * short_block_bytes) {
        state = threeStreams(state, data + offset, short_block_bytes, &short_shift_tables);
    }
    return instruction.updateSingleStream(state, data + offset, len - offset);
}

fn exportedUpdate(state: u32, data: [*]const u8, len: usize) callconv(.c) u32 {
    return update(state, data, len);
}

comptime {
    @export(&exportedUpdate, .{ .name = "rudp_internal_crc32c_sse42", .visibility = .hidden });
}
