// The prebuilt librudp for each platform the npm package supports, as file imports so that
// `bun build --compile` embeds them in the executable (bun:ffi's dlopen reads them from
// there). `bun run build:package` creates prebuilds/; a git checkout without it fails to
// import this module and load.ts uses zig-out/lib/librudp.so instead.
import linuxX64Gnu from "../../prebuilds/linux-x64-gnu/librudp.so" with { type: "file" };
import linuxX64Musl from "../../prebuilds/linux-x64-musl/librudp.so" with { type: "file" };
import linuxArm64Gnu from "../../prebuilds/linux-arm64-gnu/librudp.so" with { type: "file" };
import linuxArm64Musl from "../../prebuilds/linux-arm64-musl/librudp.so" with { type: "file" };
import type { PrebuiltPlatform } from "./platform.ts";

export const prebuiltLibraries: Record<PrebuiltPlatform, string> = {
  "linux-x64-gnu": linuxX64Gnu,
  "linux-x64-musl": linuxX64Musl,
  "linux-arm64-gnu": linuxArm64Gnu,
  "linux-arm64-musl": linuxArm64Musl,
};
