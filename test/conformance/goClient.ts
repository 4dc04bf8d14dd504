// Builds the Go conformance client (test/conformance, standard library only) with the machine's
// Go, into test/conformance/bin (not committed), as bench/loadgen/systems/kcp.ts does for the
// KCP peer. Rebuilt when a .go file is newer than the binary; Go's own build cache does the rest.
import { existsSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const conformanceDirectory = import.meta.dir;
export const conformanceBinary = join(conformanceDirectory, "bin/conformance");

/** The Go tool, or null with nothing found (the caller skips with a printed reason). */
export function findGo(): string | null {
  return Bun.which("go") ?? (existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : null);
}

/** Builds when the binary is missing or older than a source file. Throws with Go's output. */
export function ensureConformanceClientBuilt(go: string): string {
  const sources = readdirSync(conformanceDirectory).filter((name) => name.endsWith(".go") || name === "go.mod");
  const newest = Math.max(...sources.map((name) => statSync(join(conformanceDirectory, name)).mtimeMs));
  if (existsSync(conformanceBinary) && statSync(conformanceBinary).mtimeMs >= newest) return conformanceBinary;
  const build = Bun.spawnSync([go, "build", "-o", "bin/conformance", "."], {
    cwd: conformanceDirectory,
    // Standard library only: no module download may happen (GOPROXY=off), nor a toolchain switch.
    env: { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local", ...goCacheFallback() },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  if (build.exitCode !== 0) throw new Error(`go build of the conformance client failed: ${build.stderr.toString().trim()}`);
  return conformanceBinary;
}

/** Go needs a build cache; without HOME or XDG_CACHE_HOME (some CI shells) give it one in tmp. */
function goCacheFallback(): Record<string, string> {
  if (process.env.GOCACHE || process.env.HOME || process.env.XDG_CACHE_HOME) return {};
  return { GOCACHE: join(tmpdir(), "bun-rudp-go-build") };
}

export interface CaseResult {
  exitCode: number;
  line: string;
  output: string;
}

/**
 * Runs one case; the client prints "PASS <case> ...: detail" or "FAIL <case> ...: why".
 * `onOutput` sees the stdout so far after each chunk (close-server waits for READY with it).
 */
export async function runCase(binary: string, args: string[], timeoutMs: number, onOutput?: (stdout: string) => Promise<void>): Promise<CaseResult> {
  const child = Bun.spawn([binary, ...args], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const readStdout = async () => {
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout as ReadableStream<Uint8Array>) {
      text += decoder.decode(chunk);
      if (onOutput) await onOutput(text);
    }
    return text;
  };
  const [stdout, stderr, exitCode] = await Promise.all([readStdout(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  const output = stdout + stderr;
  const line = output.split("\n").find((l) => l.startsWith("PASS ") || l.startsWith("FAIL ")) ?? `no result line (exit ${exitCode}, killed after ${timeoutMs} ms?)`;
  return { exitCode, line, output };
}
