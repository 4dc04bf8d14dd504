// The one module that opens librudp with bun:ffi. Everything else in src/native takes
// `native` from here and falls back to TypeScript when it is null. Where the library comes
// from, first match wins:
//   RUDP_NATIVE=off          do not load the library (forces every fallback)
//   RUDP_NATIVE_LIB=<path>   load this file (and nothing else)
//   zig-out/lib/librudp.so   a git checkout's own build (`bun run build`)
//   prebuilds/<platform>/    the npm package's library for linux-x64/arm64, glibc/musl
//                            (embedded by `bun build --compile`, see prebuiltLibraries.ts)
//   RUDP_FFI_TRACE=1         count and time every FFI call; summary on stderr at exit
import { dlopen } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { nativeSymbols } from "./abi.generated.ts";
import { prebuiltPlatform, prebuiltPlatforms, type PrebuiltPlatform } from "./platform.ts";

export type NativeSymbols = ReturnType<typeof dlopen<typeof nativeSymbols>>["symbols"];

/** Where the library was looked for: the env override, a checkout's build, the package's prebuilt. */
export type NativeLibraryOrigin = "RUDP_NATIVE_LIB" | "zig-out" | "prebuilt" | "none";

export interface NativeLoadStatus {
  available: boolean;
  path: string;
  origin: NativeLibraryOrigin;
  /** Why the fallback is used (empty when available). */
  reason: string;
  /** Symbols in the generated table that this library file lacks (an older build). */
  missingSymbols: string[];
}

export const defaultNativeLibraryPath = join(import.meta.dir, "..", "..", "zig-out", "lib", "librudp.so");

interface LoadResult {
  symbols: NativeSymbols | null;
  status: NativeLoadStatus;
}

/** A file to try, and what to tell the user when it fails to load. */
interface Candidate {
  path: string;
  origin: NativeLibraryOrigin;
  fix: string;
}

function unavailable(path: string, origin: NativeLibraryOrigin, reason: string): LoadResult {
  return { symbols: null, status: { available: false, path, origin, reason, missingSymbols: [] } };
}

function missingSymbolIn(message: string, remaining: Record<string, unknown>): string | null {
  for (const name of Object.keys(remaining)) if (message.includes(name)) return name;
  return null;
}

/** dlopen, dropping symbols an older build lacks (bounded: one retry per symbol). */
function openLibrary({ path, origin, fix }: Candidate): LoadResult {
  const wanted: Record<string, unknown> = { ...nativeSymbols };
  const missingSymbols: string[] = [];
  const attemptsMax = Object.keys(nativeSymbols).length + 1;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    try {
      const library = dlopen(path, wanted as typeof nativeSymbols);
      const status = { available: true, path, origin, reason: "", missingSymbols };
      return { symbols: library.symbols, status };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const missing = missingSymbolIn(message, wanted);
      if (!missing) {
        const reason = `native library at ${path} failed to load (${message}): ${fix}`;
        return { symbols: null, status: { available: false, path, origin, reason, missingSymbols } };
      }
      delete wanted[missing];
      missingSymbols.push(missing);
    }
  }
  const reason = `native library at ${path} lacks too many symbols: ${fix}`;
  return { symbols: null, status: { available: false, path, origin, reason, missingSymbols } };
}

const OTHER_PLATFORM_FIX =
  `build librudp with Zig (\`zig build -Doptimize=ReleaseFast\` in a bun-rudp checkout) and set RUDP_NATIVE_LIB to it`;

/** What a process on a platform without a prebuilt library gets, and how to get more. */
export function unsupportedPlatformReason(platformName: string): string {
  const shipped = prebuiltPlatforms.join(", ");
  return `no prebuilt native library for ${platformName} (bun-rudp ships ${shipped}): this process gets the Bun.udpSocket driver and the TypeScript CRC32C, with the same protocol and API and lower throughput; for the native driver ${OTHER_PLATFORM_FIX}`;
}

/** The package's prebuilt library for this platform, or why there is none. */
function prebuiltCandidate(): Candidate | LoadResult {
  const { platform, name } = prebuiltPlatform();
  if (platform === null) return unavailable("", "none", unsupportedPlatformReason(name));
  let libraries: Record<PrebuiltPlatform, string>;
  try {
    // require, not import: a checkout without prebuilds/ must still load this module.
    libraries = (require("./prebuiltLibraries") as { prebuiltLibraries: Record<PrebuiltPlatform, string> }).prebuiltLibraries;
  } catch {
    return unavailable(defaultNativeLibraryPath, "none", `native library not built (no ${defaultNativeLibraryPath}, no prebuilds/): run \`bun run build\` (Zig comes from \`bun run setup\`)`);
  }
  const fix = `the prebuilt library for ${platform} does not run here: ${OTHER_PLATFORM_FIX}, or set RUDP_NATIVE=off`;
  return { path: libraries[platform], origin: "prebuilt", fix };
}

function load(): LoadResult {
  const override = process.env.RUDP_NATIVE_LIB;
  if (process.env.RUDP_NATIVE === "off") {
    return unavailable(override || defaultNativeLibraryPath, "none", "native library disabled by RUDP_NATIVE=off");
  }
  if (override) {
    if (!existsSync(override)) return unavailable(override, "RUDP_NATIVE_LIB", `native library not found (no ${override}): fix RUDP_NATIVE_LIB or unset it`);
    return openLibrary({ path: override, origin: "RUDP_NATIVE_LIB", fix: "point RUDP_NATIVE_LIB at a librudp built for this machine, or unset it" });
  }
  if (existsSync(defaultNativeLibraryPath)) {
    return openLibrary({ path: defaultNativeLibraryPath, origin: "zig-out", fix: "rebuild it with `bun run build`" });
  }
  const prebuilt = prebuiltCandidate();
  return "status" in prebuilt ? prebuilt : openLibrary(prebuilt);
}

interface TraceEntry {
  calls: number;
  totalNs: number;
}

const traceEntries = new Map<string, TraceEntry>();

/** Per-symbol call counts and time, when RUDP_FFI_TRACE=1 (empty otherwise). */
export function ffiTraceReport(): Array<{ symbol: string; calls: number; totalMs: number; meanNs: number }> {
  return [...traceEntries].map(([symbol, entry]) => ({
    symbol,
    calls: entry.calls,
    totalMs: entry.totalNs / 1e6,
    meanNs: entry.calls ? entry.totalNs / entry.calls : 0,
  }));
}

function wrapWithTrace(symbols: NativeSymbols): NativeSymbols {
  const traced: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(symbols as Record<string, (...args: unknown[]) => unknown>)) {
    const entry: TraceEntry = { calls: 0, totalNs: 0 };
    traceEntries.set(name, entry);
    traced[name] = (...args: unknown[]) => {
      const started = Bun.nanoseconds();
      try {
        return fn(...args);
      } finally {
        entry.calls++;
        entry.totalNs += Bun.nanoseconds() - started;
      }
    };
  }
  process.on("exit", () => {
    for (const row of ffiTraceReport()) {
      if (row.calls) console.error(`ffi-trace ${row.symbol} calls=${row.calls} total_ms=${row.totalMs.toFixed(3)} mean_ns=${row.meanNs.toFixed(0)}`);
    }
  });
  return traced as NativeSymbols;
}

const loaded = load();

/** The library's symbols, or null when the TypeScript fallbacks must be used. */
export const native: NativeSymbols | null =
  loaded.symbols && process.env.RUDP_FFI_TRACE === "1" ? wrapWithTrace(loaded.symbols) : loaded.symbols;

export function nativeStatus(): NativeLoadStatus {
  return { ...loaded.status, missingSymbols: [...loaded.status.missingSymbols] };
}

let warned = false;

/**
 * Says once per process, in one line, that the fallback is used, why and what to do.
 * Returns true when it printed (false when native is available or it already said so).
 */
export function warnNativeUnavailableOnce(logger?: { warn(message: string): void }): boolean {
  if (loaded.status.available || warned) return false;
  warned = true;
  const line = `bun-rudp: using the TypeScript/Bun.udpSocket fallback: ${loaded.status.reason}`;
  if (logger) logger.warn(line);
  else console.warn(line);
  return true;
}
