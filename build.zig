//! Builds librudp (the C-ABI shared library loaded by src/native through bun:ffi)
//! and its unit tests. The Zig version is pinned in .zig-version; any other is refused.
const std = @import("std");
const builtin = @import("builtin");

const pinned_zig_version = std.mem.trim(u8, @embedFile(".zig-version"), " \t\r\n");

comptime {
    if (!std.mem.eql(u8, builtin.zig_version_string, pinned_zig_version)) {
        @compileError("bun-rudp needs Zig " ++ pinned_zig_version ++ " (pinned in .zig-version) but this is Zig " ++
            builtin.zig_version_string ++ "; run `bash scripts/setup.sh` and use .tools/zig-bin");
    }
}

pub fn build(b: *std.Build) void {
    // Baseline CPU by default: one build must run on any x86-64. Faster kernels are
    // chosen at run time (see zig/src/crc32c.zig), never by -mcpu=native.
    const target = b.standardTargetOptions(.{ .default_target = .{ .cpu_model = .baseline } });
    // `zig build -Doptimize=ReleaseFast` (scripts/build-native.ts) for the library; tests default to Debug.
    const optimize = b.standardOptimizeOption(.{});
    // `-Dstrip=true`: no debug info (the prebuilt libraries shipped in the npm package).
    const strip = b.option(bool, "strip", "Strip debug info from librudp") orelse false;

    const root_module = b.createModule(.{
        .root_source_file = b.path("zig/src/root.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .strip = strip,
    });
    addSimdKernelObjects(b, root_module, target, optimize);
    const library = b.addLibrary(.{ .name = "rudp", .linkage = .dynamic, .root_module = root_module });
    b.installArtifact(library);

    const unit_tests = b.addTest(.{ .root_module = root_module, .use_llvm = true });
    const run_unit_tests = b.addRunArtifact(unit_tests);
    const test_step = b.step("test", "Run the Zig unit tests");
    test_step.dependOn(&run_unit_tests.step);
}

/// Zig has no per-function target attributes, so each SIMD kernel is its own object built
/// with the CPU features it needs and linked into the baseline library. zig/src/crc32c.zig
/// calls a kernel only after cpuid (zig/src/cpu_features.zig) says the CPU has them.
fn addSimdKernelObjects(b: *std.Build, root_module: *std.Build.Module, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode) void {
    if (target.result.cpu.arch != .x86_64) return;
    const Feature = std.Target.x86.Feature;
    const kernels = [_]struct { name: []const u8, source: []const u8, features: []const Feature }{
        .{ .name = "crc32c_sse42", .source = "zig/src/crc32c_sse42.zig", .features = &.{.crc32, .sse4_2} },
        .{ .name = "crc32c_avx2", .source = "zig/src/crc32c_avx2.zig", .features = &.{ .crc32, .sse4_2, .pclmul, .avx, .avx2 } },
        .{ .name = "aead_aesni", .source = "zig/src/aead_aesni.zig", .features = &.{ .aes, .pclmul, .avx } },
        .{ .name = "aead_chacha_avx2", .source = "zig/src/aead_chacha_avx2.zig", .features = &.{ .avx, .avx2 } },
        .{ .name = "aead_avx512", .source = "zig/src/aead_avx512.zig", .features = &.{ .aes, .pclmul, .avx, .avx2, .avx512f, .evex512, .vaes } },
        .{ .name = "crc32c_avx512", .source = "zig/src/crc32c_avx512.zig", .features = &.{ .crc32, .sse4_2, .pclmul, .avx, .avx2, .avx512f, .evex512, .vpclmulqdq } },
    };
    for (kernels) |kernel| {
        var query = target.query;
        query.cpu_features_add = std.Target.x86.featureSet(kernel.features);
        const module = b.createModule(.{
            .root_source_file = b.path(kernel.source),
            .target = b.resolveTargetQuery(query),
            .optimize = optimize,
            // Position independent: the object is linked into a shared library.
            .pic = true,
        });
        // LLVM: the self-hosted x86 backend (Debug default) lacks some encodings used here.
        const object = b.addObject(.{ .name = kernel.name, .root_module = module, .use_llvm = true });
        root_module.addObject(object);
    }
}
