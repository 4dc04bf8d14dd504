//! Packet protection and key agreement for the encrypted protocol (docs/PROTOCOL.md §9):
//! AES-256-GCM when the CPU has AES-NI, PCLMULQDQ and AVX, ChaCha20-Poly1305 otherwise
//! (AVX2 build when the CPU has it), X25519 and HKDF-SHA256 from std.crypto. Sealing and
//! opening take a whole GSO run or receive batch in one call (aead_batch.zig's layout).
const std = @import("std");
const builtin = @import("builtin");
const cpu = @import("cpu_features.zig");
const status = @import("status.zig");
const batch = @import("aead_batch.zig");

/// Cipher ids across the ABI (src/native/aead.ts mirrors them).
pub const Cipher = enum(u32) { chacha20_poly1305 = 0, aes_256_gcm = 1 };

const SealFn = *const fn (*const [32]u8, *const [12]u8, *const batch.Batch) callconv(.c) u32;
const OpenFn = *const fn (*const [32]u8, *const [12]u8, *const batch.Batch, [*]u8) callconv(.c) u32;

const is_x86_64 = builtin.cpu.arch == .x86_64;
extern fn rudp_internal_aes256gcm_seal(*const [32]u8, *const [12]u8, *const batch.Batch) callconv(.c) u32;
extern fn rudp_internal_aes256gcm_open(*const [32]u8, *const [12]u8, *const batch.Batch, [*]u8) callconv(.c) u32;
extern fn rudp_internal_chacha20poly1305_avx2_seal(*const [32]u8, *const [12]u8, *const batch.Batch) callconv(.c) u32;
extern fn rudp_internal_chacha20poly1305_avx2_open(*const [32]u8, *const [12]u8, *const batch.Batch, [*]u8) callconv(.c) u32;

extern fn rudp_internal_aes256gcm_avx512_seal(*const [32]u8, *const [12]u8, *const batch.Batch) callconv(.c) u32;
extern fn rudp_internal_aes256gcm_avx512_open(*const [32]u8, *const [12]u8, *const batch.Batch, [*]u8) callconv(.c) u32;
extern fn rudp_internal_chacha20poly1305_avx512_seal(*const [32]u8, *const [12]u8, *const batch.Batch) callconv(.c) u32;
extern fn rudp_internal_chacha20poly1305_avx512_open(*const [32]u8, *const [12]u8, *const batch.Batch, [*]u8) callconv(.c) u32;

const chacha_baseline = batch.Kernel(std.crypto.aead.chacha_poly.ChaCha20Poly1305);

const aes_features = cpu.aes | cpu.pclmulqdq | cpu.avx;

/// Kernel tiers: 0 portable (ChaCha20 only), 1 AES-NI / AVX2, 2 AVX-512 + VAES. The cap
/// lets tests run every tier's kernels against the vectors and benchmarks compare them.
var tier_max = std.atomic.Value(u32).init(2);

fn tierAllowed(tier: u32) bool {
    return tier <= tier_max.load(.monotonic);
}

/// Caps the kernel tier (0..2) this process uses; returns the tier now in force.
export fn rudp_aead_set_tier_max(tier: u32) u32 {
    tier_max.store(@min(tier, 2), .monotonic);
    return activeTier();
}

/// The best tier the CPU has within the cap.
export fn rudp_aead_active_tier() u32 {
    return activeTier();
}

fn activeTier() u32 {
    if (avx512Kernels()) return 2;
    if (aesSupported() or chachaAvx2()) return 1;
    return 0;
}

fn aesSupported() bool {
    return is_x86_64 and tierAllowed(1) and cpu.get() & aes_features == aes_features;
}

fn chachaAvx2() bool {
    return is_x86_64 and tierAllowed(1) and cpu.get() & cpu.avx2 != 0;
}

const avx512_features = aes_features | cpu.avx2 | cpu.avx512f | cpu.vaes;

/// The AVX-512 object needs every feature it was built with, AES included.
fn avx512Kernels() bool {
    return is_x86_64 and tierAllowed(2) and cpu.get() & avx512_features == avx512_features;
}

fn sealFor(cipher: Cipher) ?SealFn {
    return switch (cipher) {
        .aes_256_gcm => if (!is_x86_64 or !aesSupported()) null else if (avx512Kernels()) &rudp_internal_aes256gcm_avx512_seal else &rudp_internal_aes256gcm_seal,
        .chacha20_poly1305 => if (!is_x86_64) &chacha_baseline.seal else if (avx512Kernels()) &rudp_internal_chacha20poly1305_avx512_seal else if (chachaAvx2()) &rudp_internal_chacha20poly1305_avx2_seal else &chacha_baseline.seal,
    };
}

fn openFor(cipher: Cipher) ?OpenFn {
    return switch (cipher) {
        .aes_256_gcm => if (!is_x86_64 or !aesSupported()) null else if (avx512Kernels()) &rudp_internal_aes256gcm_avx512_open else &rudp_internal_aes256gcm_open,
        .chacha20_poly1305 => if (!is_x86_64) &chacha_baseline.open else if (avx512Kernels()) &rudp_internal_chacha20poly1305_avx512_open else if (chachaAvx2()) &rudp_internal_chacha20poly1305_avx2_open else &chacha_baseline.open,
    };
}

fn cipherFrom(id: u32) ?Cipher {
    return std.enums.fromInt(Cipher, id);
}

/// True when this process can run `cipher` natively (AES-GCM needs AES-NI+PCLMUL+AVX).
export fn rudp_aead_cipher_supported(cipher: u32) bool {
    const known = cipherFrom(cipher) orelse return false;
    return sealFor(known) != null;
}

/// AES-256-GCM where the CPU accelerates it, else ChaCha20-Poly1305 (faster in software
/// and constant-time without table lookups).
export fn rudp_aead_preferred_cipher() u32 {
    return @intFromEnum(if (aesSupported()) Cipher.aes_256_gcm else Cipher.chacha20_poly1305);
}

fn makeBatch(base: [*]u8, offsets: [*]const u32, lengths: [*]const u32, packet_numbers: [*]const u32, count: u32, header_length: u32) batch.Batch {
    return .{ .base = base, .offsets = offsets, .lengths = lengths, .packet_numbers = packet_numbers, .count = count, .header_length = header_length };
}

/// Seals packets i < count in place (see aead_batch.zig); returns how many were sealed,
/// or not_supported for a cipher this CPU cannot run, invalid_argument for an unknown one.
export fn rudp_aead_seal_batch(cipher: u32, key: *const [32]u8, iv: *const [12]u8, base: [*]u8, offsets: [*]const u32, lengths: [*]const u32, packet_numbers: [*]const u32, count: u32, header_length: u32) c_int {
    const known = cipherFrom(cipher) orelse return status.code(.invalid_argument);
    const seal = sealFor(known) orelse return status.code(.not_supported);
    const args = makeBatch(base, offsets, lengths, packet_numbers, count, header_length);
    return @intCast(seal(key, iv, &args));
}

/// Opens packets i < count in place; verdicts[i] = 1 authentic, 0 dropped. Returns the
/// number authentic, or a negative status as rudp_aead_seal_batch.
export fn rudp_aead_open_batch(cipher: u32, key: *const [32]u8, iv: *const [12]u8, base: [*]u8, offsets: [*]const u32, lengths: [*]const u32, packet_numbers: [*]const u32, count: u32, header_length: u32, verdicts: [*]u8) c_int {
    const known = cipherFrom(cipher) orelse return status.code(.invalid_argument);
    const open = openFor(known) orelse return status.code(.not_supported);
    const args = makeBatch(base, offsets, lengths, packet_numbers, count, header_length);
    return @intCast(open(key, iv, &args, verdicts));
}

/// One packet: 1 sealed, 0 too short for header + tag, or a negative status.
export fn rudp_aead_seal(cipher: u32, key: *const [32]u8, iv: *const [12]u8, packet: [*]u8, length: u32, header_length: u32, packet_number: u32) c_int {
    const offset = [1]u32{0};
    const lengths = [1]u32{length};
    const numbers = [1]u32{packet_number};
    return rudp_aead_seal_batch(cipher, key, iv, packet, &offset, &lengths, &numbers, 1, header_length);
}

/// One packet: 1 authentic (now plaintext), 0 forged/corrupted/too short, or a negative status.
export fn rudp_aead_open(cipher: u32, key: *const [32]u8, iv: *const [12]u8, packet: [*]u8, length: u32, header_length: u32, packet_number: u32) c_int {
    const offset = [1]u32{0};
    const lengths = [1]u32{length};
    const numbers = [1]u32{packet_number};
    var verdict = [1]u8{0};
    return rudp_aead_open_batch(cipher, key, iv, packet, &offset, &lengths, &numbers, 1, header_length, &verdict);
}

const X25519 = std.crypto.dh.X25519;

/// out = X25519(secret, 9): the public key of a 32-byte secret. invalid_argument only for
/// a secret whose public key would be the identity (cannot happen with clamping).
export fn rudp_x25519_public_key(secret: *const [32]u8, out: *[32]u8) c_int {
    out.* = X25519.recoverPublicKey(secret.*) catch return status.code(.invalid_argument);
    return status.code(.ok);
}

/// out = X25519(secret, peer_public). invalid_argument when the peer's key is a low-order
/// point (the shared secret would be all zeros: RFC 7748 §6.1 says to refuse it).
export fn rudp_x25519_shared(secret: *const [32]u8, peer_public: *const [32]u8, out: *[32]u8) c_int {
    out.* = X25519.scalarmult(secret.*, peer_public.*) catch return status.code(.invalid_argument);
    return status.code(.ok);
}

const Hkdf = std.crypto.kdf.hkdf.HkdfSha256;

/// out_prk (32 bytes) = HKDF-Extract(salt, ikm) (RFC 5869 §2.2).
export fn rudp_hkdf_sha256_extract(salt: [*]const u8, salt_length: u32, ikm: [*]const u8, ikm_length: u32, out_prk: *[32]u8) c_int {
    out_prk.* = Hkdf.extract(salt[0..salt_length], ikm[0..ikm_length]);
    return status.code(.ok);
}

/// out (out_length <= 8160 bytes) = HKDF-Expand(prk, info, out_length) (RFC 5869 §2.3).
export fn rudp_hkdf_sha256_expand(prk: *const [32]u8, info: [*]const u8, info_length: u32, out: [*]u8, out_length: u32) c_int {
    if (out_length > 255 * 32) return status.code(.invalid_argument);
    Hkdf.expand(out[0..out_length], info[0..info_length], prk.*);
    return status.code(.ok);
}

fn hexBytes(comptime hex: []const u8) [hex.len / 2]u8 {
    var out: [hex.len / 2]u8 = undefined;
    _ = std.fmt.hexToBytes(&out, hex) catch unreachable;
    return out;
}

test "RFC 8439 §2.8.2 ChaCha20-Poly1305 through the batch path" {
    const key = hexBytes("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    // nonce 070000004041424344454647 = iv xor packet number 0x4041424344454647 is not
    // expressible with a 32-bit number, so the IV carries it and the packet number is 0.
    const iv = hexBytes("070000004041424344454647");
    const aad = hexBytes("50515253c0c1c2c3c4c5c6c7");
    const text = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    var packet: [aad.len + text.len + 16]u8 = undefined;
    @memcpy(packet[0..aad.len], &aad);
    @memcpy(packet[aad.len..][0..text.len], text);
    try std.testing.expectEqual(@as(c_int, 1), rudp_aead_seal(0, &key, &iv, &packet, packet.len, aad.len, 0));
    const tag = hexBytes("1ae10b594f09e26a7e902ecbd0600691");
    try std.testing.expectEqualSlices(u8, &tag, packet[packet.len - 16 ..]);
    try std.testing.expectEqual(@as(u8, 0xd3), packet[aad.len]);
    try std.testing.expectEqual(@as(c_int, 1), rudp_aead_open(0, &key, &iv, &packet, packet.len, aad.len, 0));
    try std.testing.expectEqualSlices(u8, text, packet[aad.len..][0..text.len]);
    packet[aad.len + 3] ^= 1;
    try std.testing.expectEqual(@as(c_int, 0), rudp_aead_open(0, &key, &iv, &packet, packet.len, aad.len, 0));
}

test "RFC 7748 §6.1 X25519 key agreement" {
    const alice_secret = hexBytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const bob_public = hexBytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    var alice_public: [32]u8 = undefined;
    try std.testing.expectEqual(@as(c_int, 0), rudp_x25519_public_key(&alice_secret, &alice_public));
    try std.testing.expectEqualSlices(u8, &hexBytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), &alice_public);
    var shared: [32]u8 = undefined;
    try std.testing.expectEqual(@as(c_int, 0), rudp_x25519_shared(&alice_secret, &bob_public, &shared));
    try std.testing.expectEqualSlices(u8, &hexBytes("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"), &shared);
    const zero_point = [_]u8{0} ** 32;
    try std.testing.expect(rudp_x25519_shared(&alice_secret, &zero_point, &shared) < 0);
}

test "RFC 5869 A.1 HKDF-SHA256" {
    const ikm = [_]u8{0x0b} ** 22;
    const salt = hexBytes("000102030405060708090a0b0c");
    const info = hexBytes("f0f1f2f3f4f5f6f7f8f9");
    var prk: [32]u8 = undefined;
    _ = rudp_hkdf_sha256_extract(&salt, salt.len, &ikm, ikm.len, &prk);
    try std.testing.expectEqualSlices(u8, &hexBytes("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"), &prk);
    var okm: [42]u8 = undefined;
    _ = rudp_hkdf_sha256_expand(&prk, &info, info.len, &okm, okm.len);
    try std.testing.expectEqualSlices(u8, &hexBytes("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"), &okm);
}
