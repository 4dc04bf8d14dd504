// Builds the Zig shared library (zig-out/lib/librudp.so) when a Zig source is newer
// than the library, or always with --force. Without Zig it says so and exits 0:
// everything still runs on the fallback driver (src/native/load.ts reports it).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
export const nativeLibraryPath = join(root, "zig-out", "lib", "librudp.so");

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

function findZig(): string | null {
  if (process.env.ZIG) return process.env.ZIG;
  const pinned = join(root, ".tools", "zig-bin");
  if (existsSync(pinned)) return pinned;
  return Bun.which("zig");
}

export function nativeLibraryIsStale(): boolean {
  if (!existsSync(nativeLibraryPath)) return true;
  const libraryMtimeMs = statSync(nativeLibraryPath).mtimeMs;
  const sources = [join(root, "zig"), join(root, "build.zig"), join(root, "build.zig.zon"), join(root, ".zig-version")];
  return sources.some((source) => existsSync(source) && newestMtimeMs(source) > libraryMtimeMs);
}

/** Returns true when the library is present and current after the call. */
export function buildNative(force = false): boolean {
  if (!force && !nativeLibraryIsStale()) return true;
  const zig = findZig();
  if (!zig) {
    console.error("build-native: zig not found (run `bun run setup`); the fallback driver will be used");
    return false;
  }
  const started = performance.now();
  const result = Bun.spawnSync([zig, "build", "-Doptimize=ReleaseFast"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) {
    console.error(`build-native: zig build failed (exit ${result.exitCode}); the fallback driver will be used`);
    return false;
  }
  console.error(`build-native: built ${nativeLibraryPath} in ${Math.round(performance.now() - started)} ms`);
  return true;
}

if (import.meta.main) {
  const ok = buildNative(process.argv.includes("--force"));
  // `bun run build` must fail loudly; the implicit rebuild before server/bench must not.
  process.exit(ok || !process.argv.includes("--force") ? 0 : 1);
}
