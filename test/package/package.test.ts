// The package as a user gets it: `bun pm pack` (which runs build:package: dist/ + the four
// prebuilt libraries), installed offline into a fresh `bun init` app in a temporary folder,
// type-checked with that app's default tsconfig (strict, noUncheckedIndexedAccess), run
// against a server with the native driver, then the same for its `bun build --compile`
// binary run from another folder (the library must be embedded, not read from node_modules).
// Bounded: every child process has a timeout; ~20 s warm, ~60 s with a cold Zig cache.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prebuiltPlatform } from "../../src/native/platform.ts";

const root = join(import.meta.dir, "..", "..");
const work = mkdtempSync(join(tmpdir(), "rudp-package-"));
const appFolder = join(work, "app");
const binaryFolder = join(work, "elsewhere");
const { platform, name: platformName } = prebuiltPlatform();
const zigAvailable = existsSync(join(root, ".tools", "zig-bin")) || Bun.which("zig") !== null || !!process.env.ZIG;

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of every child: the package must find its library by itself. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith("RUDP_")) env[key] = value;
  // package.json scripts and `bun check` call `bun`: the pinned one.
  env.PATH = `${join(root, ".tools", "bin")}:${env.PATH ?? ""}`;
  return env;
}

function run(command: string[], cwd: string, timeoutMs: number): { exitCode: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync(command, { cwd, env: childEnv(), stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const outcome = { exitCode: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  if (outcome.exitCode !== 0) console.error(`$ ${command.join(" ")} (in ${cwd}) exited ${outcome.exitCode}\n${outcome.stdout}\n${outcome.stderr}`);
  return outcome;
}

interface AppReport {
  serverDriver: string;
  clientDriver: string;
  library: { available: boolean; origin: string; path: string; reason: string };
  echoed: number;
  inOrder: boolean;
  metrics: { rttHistogram: boolean; eventLoopLag: boolean; statsMessagesReceived: number; dashboardStatus: number; dashboardHasBase: boolean; uplotBytes: number; appRoute: string };
}

/** What bun-rudp/metrics on the app's Bun.serve must have served (plain and compiled alike). */
const METRICS_SERVED = {
  rttHistogram: true,
  eventLoopLag: true,
  dashboardStatus: 200,
  dashboardHasBase: true,
  appRoute: "the app's page",
};

function parseReport(stdout: string): AppReport {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as AppReport;
}

const skipReason = platform === null ? `no prebuilt library for ${platformName}` : !zigAvailable ? "Zig is needed to build the prebuilt libraries (bun run setup)" : null;
if (skipReason) console.warn(`package test skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)("the npm package in a fresh bun init app", () => {
  let tarball = "";

  test("bun pm pack builds and packs dist/, the prebuilt libraries and LICENSE, not the sources", () => {
    mkdirSync(work, { recursive: true });
    const packed = run([process.execPath, "pm", "pack", "--destination", work], root, 240_000);
    expect(packed.exitCode).toBe(0);
    const file = readdirSync(work).find((name) => name.endsWith(".tgz"));
    expect(file).toBeDefined();
    tarball = join(work, file!);
    const listing = run(["tar", "-tzf", tarball], work, 10_000).stdout.split("\n");
    for (const expected of ["package/dist/index.js", "package/dist/index.d.ts", "package/LICENSE", "package/package.json",
      "package/dist/metrics/index.js", "package/dist/metrics/index.d.ts", "package/dist/metrics/dashboard/index.html", "package/CHANGELOG.md",
      "package/prebuilds/linux-x64-gnu/librudp.so", "package/prebuilds/linux-x64-musl/librudp.so",
      "package/prebuilds/linux-arm64-gnu/librudp.so", "package/prebuilds/linux-arm64-musl/librudp.so"]) {
      expect(listing).toContain(expected);
    }
    expect(listing.filter((name) => name.startsWith("package/src/") || name.startsWith("package/zig/") || name.startsWith("package/test/"))).toEqual([]);
  }, 300_000);

  test("each prebuilt library is a stripped ELF shared object for its CPU and C library (arm64 and musl are not run here)", () => {
    const machines: Record<string, number> = { x64: 62, arm64: 183 }; // EM_X86_64, EM_AARCH64
    const readelf = Bun.which("readelf");
    for (const name of ["linux-x64-gnu", "linux-x64-musl", "linux-arm64-gnu", "linux-arm64-musl"]) {
      const bytes = readFileSync(join(root, "prebuilds", name, "librudp.so"));
      const header = new DataView(bytes.buffer, bytes.byteOffset);
      expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
      expect(header.getUint8(4)).toBe(2); // 64-bit
      expect(header.getUint16(16, true)).toBe(3); // ET_DYN
      expect(header.getUint16(18, true)).toBe(machines[name.split("-")[1]!]!);
      if (!readelf) continue;
      const dynamic = run([readelf, "-d", "--wide", join(root, "prebuilds", name, "librudp.so")], root, 10_000).stdout;
      expect(dynamic).toContain(name.endsWith("musl") ? "[libc.so]" : "[libc.so.6]");
      const versions = run([readelf, "-V", "--wide", join(root, "prebuilds", name, "librudp.so")], root, 10_000).stdout;
      const glibcVersions = [...versions.matchAll(/GLIBC_2\.(\d+)/g)].map((match) => Number(match[1]));
      expect(Math.max(0, ...glibcVersions)).toBeLessThanOrEqual(17); // runs on glibc 2.17+
      const sections = run([readelf, "-S", "--wide", join(root, "prebuilds", name, "librudp.so")], root, 10_000).stdout;
      expect(sections).not.toContain(".debug_info");
    }
  });

  test("bun init, then bun add --offline of the tarball (its three dependencies come from the cache)", () => {
    expect(tarball).not.toBe("");
    mkdirSync(appFolder, { recursive: true });
    // bun init installs @types/bun and typescript from the registry or the cache; when it
    // cannot reach the registry the same comes from the cache alone.
    run([process.execPath, "init", "-y"], appFolder, 60_000);
    if (!existsSync(join(appFolder, "node_modules", "typescript"))) run([process.execPath, "install", "--offline"], appFolder, 60_000);
    expect(existsSync(join(appFolder, "node_modules", "typescript"))).toBe(true);
    // bun-rudp/metrics's three dependencies (prom-client, hdr-histogram-js, uplot) come from
    // bun's cache; a cache that has their files but not yet their manifests gets the manifests
    // once from the registry (--prefer-offline), said here.
    let added = run([process.execPath, "add", "--offline", tarball], appFolder, 60_000);
    if (added.exitCode !== 0 && added.stderr.includes("no cached manifest")) {
      console.warn("package test: bun's cache lacks a manifest for a dependency; retrying with --prefer-offline");
      added = run([process.execPath, "add", "--prefer-offline", tarball], appFolder, 60_000);
    }
    expect(added.exitCode).toBe(0);
    expect(existsSync(join(appFolder, "node_modules", "bun-rudp", "dist", "index.js"))).toBe(true);
    copyFileSync(join(import.meta.dir, "app.fixture.ts"), join(appFolder, "index.ts"));
  }, 150_000);

  test("the app type-checks with bun init's tsconfig: bun check and tsc, 0 errors; a misspelt event name is an error", () => {
    const checked = run([process.execPath, "run", "typecheck"], appFolder, 60_000);
    expect(checked.exitCode).toBe(0);
    const tsc = run([join(appFolder, "node_modules", ".bin", "tsc"), "--noEmit"], appFolder, 60_000);
    expect(tsc.exitCode).toBe(0);
    const typo = join(appFolder, "typo.ts");
    writeFileSync(typo, `import { connect } from "bun-rudp";\nconst c = await connect("127.0.0.1", 7700);\nc.on("mesage", () => {});\n`);
    const misspelt = Bun.spawnSync([join(appFolder, "node_modules", ".bin", "tsc"), "--noEmit"], { cwd: appFolder, env: childEnv(), stdout: "pipe", timeout: 60_000 });
    rmSync(typo);
    expect(misspelt.exitCode).not.toBe(0);
    expect(misspelt.stdout.toString()).toContain(`typo.ts(3,6): error TS2345: Argument of type '"mesage"' is not assignable`);
  }, 150_000);

  test("bun index.ts: server and client on the native driver, with the package's prebuilt library", () => {
    const ran = run([process.execPath, "index.ts"], appFolder, 30_000);
    expect(ran.exitCode).toBe(0);
    const report = parseReport(ran.stdout);
    expect(report).toMatchObject({ serverDriver: "native", clientDriver: "native", echoed: 50, inOrder: true });
    expect(report.library).toMatchObject({ available: true, origin: "prebuilt", reason: "" });
    expect(report.library.path).toBe(join(appFolder, "node_modules", "bun-rudp", "prebuilds", platform!, "librudp.so"));
    expect(report.metrics).toMatchObject(METRICS_SERVED);
    expect(report.metrics.statsMessagesReceived).toBeGreaterThanOrEqual(50);
    expect(report.metrics.uplotBytes).toBeGreaterThan(10_000);
  }, 60_000);

  test("bun build --compile: the binary, run from another folder, embeds the library and uses the native driver", () => {
    mkdirSync(binaryFolder, { recursive: true });
    const binary = join(binaryFolder, "app");
    const built = run([process.execPath, "build", "--compile", "index.ts", "--outfile", binary], appFolder, 90_000);
    expect(built.exitCode).toBe(0);
    rmSync(appFolder, { recursive: true, force: true }); // nothing left to read from node_modules
    const ran = run([binary], binaryFolder, 30_000);
    expect(ran.exitCode).toBe(0);
    const report = parseReport(ran.stdout);
    expect(report).toMatchObject({ serverDriver: "native", clientDriver: "native", echoed: 50, inOrder: true });
    expect(report.library).toMatchObject({ available: true, origin: "prebuilt", reason: "" });
    expect(report.library.path).toStartWith("/$bunfs/");
    // The dashboard's files and uPlot are embedded too: node_modules is gone.
    expect(report.metrics).toMatchObject(METRICS_SERVED);
    expect(report.metrics.uplotBytes).toBeGreaterThan(10_000);
  }, 150_000);
});
