//! librudp: the C-ABI library behind src/native. Each file below exports its own
//! `export fn rudp_*` symbols; importing it here is what links it in.
comptime {
    _ = @import("status.zig");
}

test {
    @import("std").testing.refAllDecls(@This());
}
