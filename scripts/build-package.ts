// `bun run build:package`: everything the npm tarball ships, built from this checkout.
//   prebuilds/<platform>/librudp.so  librudp cross-compiled with the pinned Zig for
//                                    linux-x64 and linux-arm64, glibc (2.17+) and musl
//   dist/                            JavaScript + .d.ts from tsc (tsconfig.build.json): the
//                                    root and bun-rudp/metrics, with the dashboard's files
// `bun pm pack` runs it first (the "prepack" script). Fails loudly on any error.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { prebuiltPlatforms, type PrebuiltPlatform } from "../src/native/platform.ts";

const root = join(import.meta.dir, "..");
const distFolder = join(root, "dist");
const prebuildsFolder = join(root, "prebuilds");

/** Zig target per platform. glibc 2.17 is the floor Bun itself supports; musl is the Alpine one. */
const zigTargets: Record<PrebuiltPlatform, string> = {
  "linux-x64-gnu": "x86_64-linux-gnu.2.17",
  "linux-x64-musl": "x86_64-linux-musl",
  "linux-arm64-gnu": "aarch64-linux-gnu.2.17",
  "linux-arm64-musl": "aarch64-linux-musl",
};

function fail(message: string): never {
  console.error(`build:package: ${message}`);
  process.exit(1);
}

function run(command: string[]): void {
  const result = Bun.spawnSync(command, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) fail(`\`${command.join(" ")}\` failed (exit ${result.exitCode})`);
}

function zigPath(): string {
  if (process.env.ZIG) return process.env.ZIG;
  const pinned = join(root, ".tools", "zig-bin");
  if (existsSync(pinned)) return pinned;
  return Bun.which("zig") ?? fail("zig not found: run `bun run setup` (installs the pinned Zig into .tools/)");
}

function buildPrebuilds(): void {
  rmSync(prebuildsFolder, { recursive: true, force: true });
  const zig = zigPath();
  for (const platform of prebuiltPlatforms) {
    const started = performance.now();
    const libraryFolder = join(prebuildsFolder, platform);
    // Baseline CPU: SIMD kernels are picked at run time by cpuid (zig/src/cpu_features.zig).
    run([zig, "build", `-Dtarget=${zigTargets[platform]}`, "-Dcpu=baseline", "-Doptimize=ReleaseFast", "-Dstrip=true",
      "--prefix", join(root, ".zig-cache", "package-install", platform), "--prefix-lib-dir", libraryFolder]);
    const path = join(libraryFolder, "librudp.so");
    if (!existsSync(path)) fail(`zig build for ${platform} produced no ${path}`);
    console.error(`build:package: ${relative(root, path)} (${statSync(path).size} bytes) in ${Math.round(performance.now() - started)} ms`);
  }
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: "utf8" }).map((name) => join(folder, name)).filter((path) => statSync(path).isFile());
}

/** tsc keeps `./x.ts` in .d.ts files; `./x.js` resolves to x.d.ts under every moduleResolution. */
function rewriteDeclarationSpecifiers(): void {
  const relativeTs = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g;
  for (const path of filesUnder(distFolder).filter((name) => name.endsWith(".d.ts"))) {
    const text = readFileSync(path, "utf8");
    const rewritten = text.replace(relativeTs, "$1$2.js$3");
    if (rewritten !== text) writeFileSync(path, rewritten);
  }
}

/** Every relative specifier in dist must name a file that is in dist (or prebuilds/). */
function checkDist(): void {
  const specifier = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const path of filesUnder(distFolder).filter((name) => name.endsWith(".js") || name.endsWith(".d.ts"))) {
    for (const match of readFileSync(path, "utf8").matchAll(specifier)) {
      const target = match[1]!;
      if (target.endsWith(".ts")) fail(`${relative(root, path)} imports "${target}" (a .ts file the package does not ship)`);
      const resolved = join(path, "..", target);
      const declaration = resolved.replace(/\.js$/, ".d.ts");
      if (!existsSync(resolved) && !existsSync(declaration)) fail(`${relative(root, path)} imports "${target}", which is not built`);
    }
  }
}

/** The dashboard's page, script and style: file imports of dist/metrics/dashboardAssets.js. */
function copyDashboardAssets(): void {
  const from = join(root, "src", "metrics", "dashboard");
  const to = join(distFolder, "metrics", "dashboard");
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, name));
}

function buildDist(): void {
  rmSync(distFolder, { recursive: true, force: true });
  const started = performance.now();
  run([join(root, "node_modules", ".bin", "tsc"), "-p", "tsconfig.build.json"]);
  rewriteDeclarationSpecifiers();
  copyDashboardAssets();
  checkDist();
  console.error(`build:package: dist/ (${filesUnder(distFolder).length} files) in ${Math.round(performance.now() - started)} ms`);
}

if (import.meta.main) {
  const only = process.argv.slice(2);
  if (!only.includes("--dist-only")) buildPrebuilds();
  if (!only.includes("--prebuilds-only")) buildDist();
}
