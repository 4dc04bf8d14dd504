//! AES-256-GCM and ChaCha20-Poly1305 kernels built with AVX-512F and VAES (build.zig):
//! std.crypto's CTR mode then encrypts four AES blocks per instruction and ChaCha20 runs
//! four blocks per 512-bit vector. zig/src/aead.zig calls them only after cpuid says the
//! CPU (and OS) has AES-NI, PCLMULQDQ, AVX2, AVX-512F and VAES.
const std = @import("std");
const batch = @import("aead_batch.zig");

const aes = batch.Kernel(std.crypto.aead.aes_gcm.Aes256Gcm);
const chacha = batch.Kernel(std.crypto.aead.chacha_poly.ChaCha20Poly1305);

comptime {
    @export(&aes.seal, .{ .name = "rudp_internal_aes256gcm_avx512_seal", .visibility = .hidden });
    @export(&aes.open, .{ .name = "rudp_internal_aes256gcm_avx512_open", .visibility = .hidden });
    @export(&chacha.seal, .{ .name = "rudp_internal_chacha20poly1305_avx512_seal", .visibility = .hidden });
    @export(&chacha.open, .{ .name = "rudp_internal_chacha20poly1305_avx512_open", .visibility = .hidden });
}
