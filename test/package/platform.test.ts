// Which prebuilt library the loader picks: OS, CPU, and the C library the running Bun maps.
import { expect, test } from "bun:test";
import { unsupportedPlatformReason } from "../../src/native/load.ts";
import { detectLibc, prebuiltPlatform } from "../../src/native/platform.ts";

const glibcMaps = `7f0000000000-7f0000028000 r--p 00000000 08:01 131 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1000000000-7f1000002000 r--p 00000000 08:01 140 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`;
const muslMaps = `7f0000000000-7f0000014000 r--p 00000000 08:01 99 /lib/ld-musl-x86_64.so.1
7f2000000000-7f2000001000 r--p 00000000 08:01 12 /usr/lib/libstdc++.so.6.0.32`;
const muslArmMaps = "ffff80000000-ffff80090000 r-xp 00000000 fe:01 77 /lib/ld-musl-aarch64.so.1";

test("musl is told apart from glibc by the loader the process maps", () => {
  expect(detectLibc(glibcMaps)).toBe("gnu");
  expect(detectLibc(muslMaps)).toBe("musl");
  expect(detectLibc(muslArmMaps)).toBe("musl");
  // A file whose name merely contains "musl" is not the loader.
  expect(detectLibc("7f00-7f01 r--p 0 08:01 1 /home/musl-fan/data.bin")).toBe("gnu");
});

test("this process (glibc Bun on Linux) maps glibc", () => {
  if (process.platform !== "linux") return;
  expect(detectLibc()).toBe("gnu");
});

test("platform names: linux x64/arm64 with glibc or musl; anything else has none", () => {
  expect(prebuiltPlatform("linux", "x64", () => "gnu")).toEqual({ platform: "linux-x64-gnu", name: "linux-x64-gnu" });
  expect(prebuiltPlatform("linux", "arm64", () => "musl")).toEqual({ platform: "linux-arm64-musl", name: "linux-arm64-musl" });
  expect(prebuiltPlatform("darwin", "arm64", () => "gnu")).toEqual({ platform: null, name: "darwin-arm64" });
  expect(prebuiltPlatform("linux", "riscv64", () => "gnu")).toEqual({ platform: null, name: "linux-riscv64" });
  expect(prebuiltPlatform("win32", "x64", () => "gnu")).toEqual({ platform: null, name: "win32-x64" });
});

test("another platform is told exactly what it gets and how to get the native driver", () => {
  const reason = unsupportedPlatformReason("darwin-arm64");
  expect(reason).toContain("no prebuilt native library for darwin-arm64");
  expect(reason).toContain("linux-x64-gnu, linux-x64-musl, linux-arm64-gnu, linux-arm64-musl");
  expect(reason).toContain("Bun.udpSocket driver and the TypeScript CRC32C");
  expect(reason).toContain("RUDP_NATIVE_LIB");
});
