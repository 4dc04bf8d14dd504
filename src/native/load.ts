// The one module that opens librudp (zig-out/lib/librudp.so) with bun:ffi. Everything
// else in src/native takes `native` from here and falls back to TypeScript when it is null.
//   RUDP_NATIVE=off          do not load the library (forces every fallback)
//   RUDP_NATIVE_LIB=<path>   load this file instead of zig-out/lib/librudp.so
//   RUDP_FFI_TRACE=1         count and time every FFI call; summary on stderr at exit
import { dlopen } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { nativeSymbols } from "./abi.generated.ts";

export type NativeSymbols = ReturnType<typeof dlopen<typeof nativeSymbols>>["symbols"];

export interface NativeLoadStatus {
  available: boolean;
  path: string;
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

function missingSymbolIn(message: string, remaining: Record<string, unknown>): string | null {
  for (const name of Object.keys(remaining)) if (message.includes(name)) return name;
  return null;
}

/** dlopen, dropping symbols an older build lacks (bounded: one retry per symbol). */
function openLibrary(path: string): LoadResult {
  const wanted: Record<string, unknown> = { ...nativeSymbols };
  const missingSymbols: string[] = [];
  const attemptsMax = Object.keys(nativeSymbols).length + 1;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    try {
      const library = dlopen(path, wanted as typeof nativeSymbols);
      const status = { available: true, path, reason: "", missingSymbols };
      return { symbols: library.symbols, status };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const missing = missingSymbolIn(message, wanted);
      if (!missing) {
        const reason = `native library at ${path} failed to load (${message}): rebuild it with \`bun run build\``;
        return { symbols: null, status: { available: false, path, reason, missingSymbols } };
      }
      delete wanted[missing];
      missingSymbols.push(missing);
    }
  }
  const reason = `native library at ${path} lacks too many symbols: rebuild it with \`bun run build\``;
  return { symbols: null, status: { available: false, path, reason, missingSymbols } };
}

function load(): LoadResult {
  const path = process.env.RUDP_NATIVE_LIB || defaultNativeLibraryPath;
  if (process.env.RUDP_NATIVE === "off") {
    return { symbols: null, status: { available: false, path, reason: "native library disabled by RUDP_NATIVE=off", missingSymbols: [] } };
  }
  if (!existsSync(path)) {
    const hint = process.env.RUDP_NATIVE_LIB ? "fix RUDP_NATIVE_LIB or unset it" : "run `bun run build` (Zig comes from `bun run setup`)";
    return { symbols: null, status: { available: false, path, reason: `native library not built (no ${path}): ${hint}`, missingSymbols: [] } };
  }
  return openLibrary(path);
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
