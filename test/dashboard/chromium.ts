// Finds (or installs) the system Chromium the dashboard test drives through playwright-core.
// A machine without it and without a way to install it skips the test; it never fails for that.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const SYSTEM_CHROMIUM_PATH = "/usr/bin/chromium";
/** RUDP_CHROMIUM_PATH points at another Chromium build; only the system one is ever installed. */
export const CHROMIUM_PATH = process.env.RUDP_CHROMIUM_PATH || SYSTEM_CHROMIUM_PATH;
const INSTALL_TIMEOUT_MS = 240_000;
const UPDATE_TIMEOUT_MS = 120_000;

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function run(command: string[], timeoutMs: number): { ok: boolean; output: string } {
  try {
    const result = Bun.spawnSync(command, { timeout: timeoutMs, stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    const output = (result.stdout.toString() + result.stderr.toString()).trim();
    return { ok: result.exitCode === 0, output: output.split("\n").slice(-3).join(" | ") };
  } catch (error) {
    return { ok: false, output: (error as Error).message };
  }
}

/**
 * Returns null when Chromium is at CHROMIUM_PATH (installing it with apt-get if it is missing
 * and this process may), or the reason it cannot be had. RUDP_DASHBOARD_NO_INSTALL=1 forbids
 * the install.
 */
export function ensureChromium(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  if (CHROMIUM_PATH !== SYSTEM_CHROMIUM_PATH) return `RUDP_CHROMIUM_PATH=${CHROMIUM_PATH} does not exist`;
  if (process.env.RUDP_DASHBOARD_NO_INSTALL === "1") return `${CHROMIUM_PATH} is missing and RUDP_DASHBOARD_NO_INSTALL=1`;
  if (process.getuid?.() !== 0) return `${CHROMIUM_PATH} is missing and apt-get needs root (install the chromium package)`;
  if (!existsSync("/usr/bin/apt-get")) return `${CHROMIUM_PATH} is missing and there is no apt-get here`;
  console.log(`dashboard test: ${CHROMIUM_PATH} is missing; installing chromium with apt-get (up to ${INSTALL_TIMEOUT_MS / 1000} s)`);
  let install = run(["apt-get", "install", "-y", "chromium"], INSTALL_TIMEOUT_MS);
  if (!install.ok) {
    // A fresh image often has no package lists yet.
    const update = run(["apt-get", "update"], UPDATE_TIMEOUT_MS);
    if (!update.ok) return `apt-get update failed: ${update.output}`;
    install = run(["apt-get", "install", "-y", "chromium"], INSTALL_TIMEOUT_MS);
  }
  if (!install.ok || !existsSync(CHROMIUM_PATH)) return `apt-get install chromium failed: ${install.output}`;
  return null;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: LAUNCH_ARGS, timeout: 15_000 });
}
