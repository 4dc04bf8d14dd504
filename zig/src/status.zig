//! The one status enum that crosses the C ABI. Every export returns a value >= 0 or one
//! of these negative codes; Zig errors never cross the boundary. The TypeScript side
//! (src/native/abi.generated.ts) is generated from this file by scripts/gen-native-abi.ts.
pub const Status = enum(c_int) {
    ok = 0,
    invalid_argument = -1,
    out_of_memory = -2,
    pool_exhausted = -3,
    double_free = -4,
    not_supported = -5,
    would_block = -6,
    socket_error = -7,
    address_in_use = -8,
    permission_denied = -9,
    thread_error = -10,
    ring_full = -11,
    ring_empty = -12,
    message_too_large = -13,
    no_buffer_space = -14,
    bad_address = -15,
    already_running = -16,
    not_running = -17,
    placement_refused = -18,
};

pub fn code(status: Status) c_int {
    return @intFromEnum(status);
}
