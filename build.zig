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
    const optimize = b.standardOptimizeOption(.{ .preferred_optimize_mode = .ReleaseFast });

    const root_module = b.createModule(.{
        .root_source_file = b.path("zig/src/root.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    const library = b.addLibrary(.{ .name = "rudp", .linkage = .dynamic, .root_module = root_module });
    b.installArtifact(library);

    const unit_tests = b.addTest(.{ .root_module = root_module });
    const run_unit_tests = b.addRunArtifact(unit_tests);
    const test_step = b.step("test", "Run the Zig unit tests");
    test_step.dependOn(&run_unit_tests.step);
}
