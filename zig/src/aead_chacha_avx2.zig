//! ChaCha20-Poly1305 kernel built with AVX2 (build.zig): std.crypto's ChaCha20 then runs
//! two blocks per 256-bit vector instead of the scalar rounds of the baseline build.
//! zig/src/aead.zig calls it only after cpuid says the CPU (and OS) has AVX2.
const std = @import("std");
const batch = @import("aead_batch.zig");

const kernel = batch.Kernel(std.crypto.aead.chacha_poly.ChaCha20Poly1305);

comptime {
    @export(&kernel.seal, .{ .name = "rudp_internal_chacha20poly1305_avx2_seal", .visibility = .hidden });
    @export(&kernel.open, .{ .name = "rudp_internal_chacha20poly1305_avx2_open", .visibility = .hidden });
}
