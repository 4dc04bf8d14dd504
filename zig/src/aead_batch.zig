//! Packet protection shared by every AEAD kernel object (baseline ChaCha20 in aead.zig,
//! AES-GCM and AVX2 ChaCha20 in their own objects built with those CPU features). A
//! protected packet is `header | ciphertext | tag(16)` in place: the header is the
//! associated data, the nonce is the 12-byte IV xor the packet number (big-endian, right
//! aligned: TLS 1.3 / QUIC), and the tag takes the place of the CRC32C trailer.
const std = @import("std");

pub const tag_length = 16;
pub const key_length = 32;
pub const iv_length = 12;

pub fn nonceFor(iv: *const [iv_length]u8, packet_number: u64) [iv_length]u8 {
    var nonce = iv.*;
    var number_bytes: [8]u8 = undefined;
    std.mem.writeInt(u64, &number_bytes, packet_number, .big);
    for (number_bytes, 0..) |byte, i| nonce[iv_length - 8 + i] ^= byte;
    return nonce;
}

/// Encrypts `packet[header_length .. len - 16]` in place and writes the tag in the last 16
/// bytes. False (nothing written) when the packet cannot hold the header and the tag.
pub fn sealOne(comptime Aead: type, key: *const [key_length]u8, iv: *const [iv_length]u8, packet: []u8, header_length: usize, packet_number: u64) bool {
    if (packet.len < header_length + tag_length) return false;
    const body_end = packet.len - tag_length;
    const body = packet[header_length..body_end];
    Aead.encrypt(body, packet[body_end..][0..tag_length], body, packet[0..header_length], nonceFor(iv, packet_number), key.*);
    return true;
}

/// Checks the tag and decrypts in place. False when the packet is too short or forged
/// (the body's bytes are then unspecified: the caller drops the packet).
pub fn openOne(comptime Aead: type, key: *const [key_length]u8, iv: *const [iv_length]u8, packet: []u8, header_length: usize, packet_number: u64) bool {
    if (packet.len < header_length + tag_length) return false;
    const body_end = packet.len - tag_length;
    const body = packet[header_length..body_end];
    const tag = packet[body_end..][0..tag_length].*;
    Aead.decrypt(body, body, tag, packet[0..header_length], nonceFor(iv, packet_number), key.*) catch return false;
    return true;
}

/// The batch arguments as they cross the C ABI: packet i is
/// base[offsets[i] .. offsets[i] + lengths[i]], numbered packet_numbers[i].
pub const Batch = extern struct {
    base: [*]u8,
    offsets: [*]const u32,
    lengths: [*]const u32,
    packet_numbers: [*]const u32,
    count: u32,
    header_length: u32,
};

/// Seals every packet of a GSO run; returns how many were sealed (a packet too short for
/// header + tag is left as it is).
pub fn sealBatch(comptime Aead: type, key: *const [key_length]u8, iv: *const [iv_length]u8, batch: *const Batch) u32 {
    var sealed: u32 = 0;
    for (0..batch.count) |i| {
        const packet = batch.base[batch.offsets[i]..][0..batch.lengths[i]];
        if (sealOne(Aead, key, iv, packet, batch.header_length, batch.packet_numbers[i])) sealed += 1;
    }
    return sealed;
}

/// Opens every packet of a receive batch: verdicts[i] = 1 (authentic, now plaintext) or 0
/// (forged, corrupted or too short: drop it). Returns the number of authentic packets.
pub fn openBatch(comptime Aead: type, key: *const [key_length]u8, iv: *const [iv_length]u8, batch: *const Batch, verdicts: [*]u8) u32 {
    var good: u32 = 0;
    for (0..batch.count) |i| {
        const packet = batch.base[batch.offsets[i]..][0..batch.lengths[i]];
        const ok = openOne(Aead, key, iv, packet, batch.header_length, batch.packet_numbers[i]);
        verdicts[i] = @intFromBool(ok);
        good += @intFromBool(ok);
    }
    return good;
}

/// The exported kernel entry points an object provides (C calling convention, hidden).
pub fn Kernel(comptime Aead: type) type {
    return struct {
        pub fn seal(key: *const [key_length]u8, iv: *const [iv_length]u8, batch: *const Batch) callconv(.c) u32 {
            return sealBatch(Aead, key, iv, batch);
        }
        pub fn open(key: *const [key_length]u8, iv: *const [iv_length]u8, batch: *const Batch, verdicts: [*]u8) callconv(.c) u32 {
            return openBatch(Aead, key, iv, batch, verdicts);
        }
    };
}
