//! The SSE4.2 `crc32` instruction (Castagnoli polynomial, raw state, reflected). Only
//! imported by the kernel objects that build.zig compiles with SSE4.2 enabled and that
//! crc32c.zig calls after cpuid says the CPU has it.
const std = @import("std");

pub inline fn crc32u64(state: u32, word: u64) u32 {
    const wide: u64 = asm ("crc32q %[word], %[state]"
        : [state] "=r" (-> u64),
        : [word] "r" (word),
          [state_in] "0" (@as(u64, state)),
    );
    return @truncate(wide);
}

pub inline fn crc32u8(state: u32, byte: u8) u32 {
    return asm ("crc32b %[byte], %[state]"
        : [state] "=r" (-> u32),
        : [byte] "r" (byte),
          [state_in] "0" (state),
    );
}

pub inline fn load64(bytes: [*]const u8) u64 {
    return std.mem.readInt(u64, bytes[0..8], .little);
}

/// One stream, 8 bytes per instruction: short inputs and tails.
pub fn updateSingleStream(state_in: u32, data: [*]const u8, len: usize) u32 {
    var state = state_in;
    var offset: usize = 0;
    while (offset + 8 <= len) : (offset += 8) state = crc32u64(state, load64(data + offset));
    while (offset < len) : (offset += 1) state = crc32u8(state, data[offset]);
    return state;
}
