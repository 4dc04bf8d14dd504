// Which prebuilt librudp fits this process: the OS, the CPU and the C library that the
// running Bun itself is linked against (the library is loaded into Bun's process, so it
// must use the same libc: a musl Bun on Alpine needs the musl build).
import { existsSync, readFileSync } from "node:fs";

/** The platforms the npm package ships a prebuilt library for (prebuilds/<name>/librudp.so). */
export const prebuiltPlatforms = ["linux-x64-gnu", "linux-x64-musl", "linux-arm64-gnu", "linux-arm64-musl"] as const;
export type PrebuiltPlatform = (typeof prebuiltPlatforms)[number];

export type LibcFlavour = "gnu" | "musl";

/** musl when the process maps musl's loader (/lib/ld-musl-*.so.1), else glibc. */
export function detectLibc(mapsText?: string): LibcFlavour {
  let maps = mapsText;
  if (maps === undefined) {
    try {
      maps = readFileSync("/proc/self/maps", "utf8");
    } catch {
      // No /proc (a sandbox): Alpine is the musl distribution people run Bun on.
      return existsSync("/etc/alpine-release") ? "musl" : "gnu";
    }
  }
  return /\/ld-musl-[^/\s]*\.so|\/libc\.musl-[^/\s]*\.so/.test(maps) ? "musl" : "gnu";
}

/** "linux-x64-gnu" and so on, or null with the platform's own name when nothing is shipped for it. */
export function prebuiltPlatform(
  os: string = process.platform,
  arch: string = process.arch,
  libc: () => LibcFlavour = detectLibc,
): { platform: PrebuiltPlatform; name: string } | { platform: null; name: string } {
  if (os !== "linux" || (arch !== "x64" && arch !== "arm64")) return { platform: null, name: `${os}-${arch}` };
  const platform = `linux-${arch}-${libc()}` as PrebuiltPlatform;
  return { platform, name: platform };
}
