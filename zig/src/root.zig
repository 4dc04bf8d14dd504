//! librudp: the C-ABI library behind src/native. Each file below exports its own
//! `export fn rudp_*` symbols; importing it here is what links it in.
comptime {
    _ = @import("status.zig");
    _ = @import("cpu_features.zig");
    _ = @import("crc32c.zig");
    _ = @import("crc32c_math.zig");
    _ = @import("crc32c_table.zig");
    _ = @import("numa.zig");
    _ = @import("pool.zig");
    _ = @import("address.zig");
    _ = @import("udp_socket.zig");
    _ = @import("batch_io.zig");
    _ = @import("ring.zig");
    _ = @import("rx_thread.zig");
    _ = @import("aead.zig");
}

test {
    @import("std").testing.refAllDecls(@This());
}
