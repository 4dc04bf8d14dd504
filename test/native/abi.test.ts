// The generated bun:ffi table must match the Zig sources, and its parts must be sane.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ffiTypeOf, generateAbi, generatedAbiPath, parseExportedFunctions } from "../../scripts/gen-native-abi.ts";
import { NativeStatus, describeStatus, nativeSymbols, statusName } from "../../src/native/abi.generated.ts";
import { nativeStatus } from "../../src/native/load.ts";

test("src/native/abi.generated.ts is up to date (run ./scripts/bun scripts/gen-native-abi.ts)", () => {
  expect(readFileSync(generatedAbiPath, "utf8")).toBe(generateAbi());
});

test("the built library has every generated symbol (else rebuild with `bun run build`)", () => {
  expect(nativeStatus().available).toBe(true);
  expect(nativeStatus().missingSymbols).toEqual([]);
});

test("Zig types map to FFI types, and unknown types fail loudly", () => {
  expect(ffiTypeOf("u32", "t")).toBe("u32");
  expect(ffiTypeOf("c_int", "t")).toBe("i32");
  expect(ffiTypeOf("usize", "t")).toBe("u64_fast");
  expect(ffiTypeOf("i64", "t")).toBe("i64_fast");
  expect(ffiTypeOf("bool", "t")).toBe("bool");
  expect(ffiTypeOf("[*]const u8", "t")).toBe("ptr");
  expect(ffiTypeOf("?*anyopaque", "t")).toBe("ptr");
  expect(ffiTypeOf("*const  [4]u32", "t")).toBe("ptr");
  expect(ffiTypeOf("?*const fn () callconv(.c) void", "t")).toBe("function");
  expect(() => ffiTypeOf("SomeStruct", "t")).toThrow(/no FFIType mapping/);
});

test("the parser reads function-pointer parameters and skips comments", () => {
  const source = `
    // export fn rudp_commented_out(a: u32) void {}
    export fn rudp_start(fd: c_int, doorbell: ?*const fn () callconv(.c) void, n: u32) c_int { return 0; }
    fn rudp_not_exported() void {}
  `;
  const found = parseExportedFunctions("x.zig", source);
  expect(found).toEqual([{ name: "rudp_start", file: "x.zig", args: ["i32", "function", "u32"], returns: "i32" }]);
});

test("status codes come from status.zig and describeStatus says what to do", () => {
  expect(NativeStatus.ok).toBe(0);
  expect(NativeStatus.pool_exhausted).toBeLessThan(0);
  expect(statusName(NativeStatus.double_free)).toBe("double_free");
  expect(describeStatus(NativeStatus.pool_exhausted)).toMatch(/^pool_exhausted \(-\d+\): .*blocksPerClass/);
  expect(describeStatus(-9999)).toBe("unknown native status -9999");
  for (const code of Object.values(NativeStatus)) expect(describeStatus(code).length).toBeGreaterThan(10);
  expect(Object.keys(nativeSymbols)).toContain("rudp_crc32c");
});
