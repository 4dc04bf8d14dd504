// Without the library (hidden path, or RUDP_NATIVE=off) everything still works on the
// TypeScript fallback and says so once. Also checks RUDP_FFI_TRACE. Child processes, so
// this process keeps its own loaded library.
import { expect, test } from "bun:test";
import { join } from "node:path";

const indexPath = join(import.meta.dir, "..", "..", "src", "native", "index.ts");

function runChild(code: string, env: Record<string, string>): { stdout: string; stderr: string; exitCode: number } {
  const result = Bun.spawnSync([process.execPath, "-e", code], {
    env: { ...process.env, RUDP_NATIVE_LIB: "", RUDP_NATIVE: "", RUDP_FFI_TRACE: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 20_000,
  });
  return { stdout: result.stdout.toString(), stderr: result.stderr.toString(), exitCode: result.exitCode ?? -1 };
}

const fallbackScript = `
  const m = await import(${JSON.stringify(indexPath)});
  const data = new TextEncoder().encode("123456789");
  const first = m.warnNativeUnavailableOnce();
  const second = m.warnNativeUnavailableOnce();
  console.log(JSON.stringify({
    crc: m.crc32c(data), kernel: m.checksumKernelName(), status: m.nativeStatus(),
    first, second, forced: m.forceChecksumKernel("sse4.2"), features: m.cpuFeatures().mask,
  }));
`;

test("with RUDP_NATIVE_LIB=/nonexistent the TypeScript CRC is used and the reason is said once", () => {
  const child = runChild(fallbackScript, { RUDP_NATIVE_LIB: "/nonexistent/librudp.so" });
  expect(child.exitCode).toBe(0);
  const report = JSON.parse(child.stdout.trim());
  expect(report.crc).toBe(0xe3069283);
  expect(report.kernel).toBe("typescript");
  expect(report.status.available).toBe(false);
  expect(report.status.reason).toContain("/nonexistent/librudp.so");
  expect(report).toMatchObject({ first: true, second: false, forced: false, features: 0 });
  const warnings = child.stderr.split("\n").filter((line) => line.includes("fallback"));
  expect(warnings.length).toBe(1);
  expect(warnings[0]).toContain("RUDP_NATIVE_LIB");
});

test("RUDP_NATIVE=off disables the library and says so", () => {
  const child = runChild(fallbackScript, { RUDP_NATIVE: "off" });
  expect(child.exitCode).toBe(0);
  const report = JSON.parse(child.stdout.trim());
  expect(report.kernel).toBe("typescript");
  expect(report.crc).toBe(0xe3069283);
  expect(child.stderr).toContain("RUDP_NATIVE=off");
});

test("a file that is not a library is reported, not thrown", () => {
  const child = runChild(fallbackScript, { RUDP_NATIVE_LIB: join(import.meta.dir, "fallback.test.ts") });
  expect(child.exitCode).toBe(0);
  const report = JSON.parse(child.stdout.trim());
  expect(report.status.available).toBe(false);
  expect(report.status.reason).toMatch(/failed to load/);
});

test("RUDP_FFI_TRACE=1 counts calls and prints a summary at exit", () => {
  const code = `
    const m = await import(${JSON.stringify(indexPath)});
    for (let i = 0; i < 5; i++) m.crc32c(new Uint8Array(100));
    console.log(JSON.stringify(m.ffiTraceReport().find((row) => row.symbol === "rudp_crc32c")));
  `;
  const child = runChild(code, { RUDP_FFI_TRACE: "1" });
  expect(child.exitCode).toBe(0);
  expect(JSON.parse(child.stdout.trim()).calls).toBe(5);
  expect(child.stderr).toMatch(/ffi-trace rudp_crc32c calls=5 /);
});
