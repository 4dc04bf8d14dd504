//! AES-256-GCM kernel: a separate object built with AES-NI, PCLMULQDQ and AVX (build.zig),
//! because std.crypto picks its AES and GHASH code at compile time and the library itself
//! is baseline x86-64. zig/src/aead.zig calls it only after cpuid says the CPU has them.
const std = @import("std");
const batch = @import("aead_batch.zig");

const kernel = batch.Kernel(std.crypto.aead.aes_gcm.Aes256Gcm);

comptime {
    @export(&kernel.seal, .{ .name = "rudp_internal_aes256gcm_seal", .visibility = .hidden });
    @export(&kernel.open, .{ .name = "rudp_internal_aes256gcm_open", .visibility = .hidden });
}
