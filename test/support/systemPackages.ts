// Installs a Debian package a test needs (promtool, chromium) when it is missing. Bounded in
// time; returns why it could not, so the caller can fail or skip with a clear message.
import { existsSync } from "node:fs";

const INSTALL_TIMEOUT_MS = 240_000;

export function ensureDebianPackage(binary: string, packageName: string): { ok: true } | { ok: false; why: string } {
  if (existsSync(binary) || Bun.which(binary)) return { ok: true };
  if (!Bun.which("apt-get")) return { ok: false, why: `${binary} is missing and apt-get is not available to install ${packageName}` };
  const install = () =>
    Bun.spawnSync(["apt-get", "install", "-y", "--no-install-recommends", packageName], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: INSTALL_TIMEOUT_MS,
      stdout: "ignore",
      stderr: "pipe",
    });
  let result = install();
  if (result.exitCode !== 0) {
    Bun.spawnSync(["apt-get", "update"], { timeout: INSTALL_TIMEOUT_MS, stdout: "ignore", stderr: "ignore" });
    result = install();
  }
  if (result.exitCode !== 0 || !(existsSync(binary) || Bun.which(binary))) {
    return { ok: false, why: `could not install ${packageName}: ${result.stderr.toString().trim().split("\n").pop()}` };
  }
  return { ok: true };
}
