// KCP (Go, kcp-go) peer: built on demand from bench/peers/kcp with the machine's Go, into
// bench/peers/kcp/bin (not committed). Both its server and its load client are Go programs:
// the client runs the same open-loop workload and prints a WorkerResult.
import type { WorkloadSpec } from "../workload.ts";

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

export const kcpPeerDirectory = join(import.meta.dir, "../../peers/kcp");
export const kcpPeerBinary = join(kcpPeerDirectory, "bin/kcp-peer");

/** Builds the Go peer when the binary is missing or older than its source. Throws with Go's output. */
export function ensureKcpPeerBuilt(): string {
  const source = join(kcpPeerDirectory, "main.go");
  if (existsSync(kcpPeerBinary) && statSync(kcpPeerBinary).mtimeMs >= statSync(source).mtimeMs) return kcpPeerBinary;
  const build = Bun.spawnSync(["go", "build", "-o", "bin/kcp-peer", "."], {
    cwd: kcpPeerDirectory,
    env: { ...process.env, GOFLAGS: "-mod=mod" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`go build of the KCP peer failed: ${build.stderr.toString().trim()}`);
  return kcpPeerBinary;
}

/** The Go client takes the plain workload fields; KCP has no delivery modes or congestion choice. */
export type KcpWorkload = Pick<WorkloadSpec, "host" | "port" | "connections" | "firstConnection" | "ratePerSecond" | "sizeBytes" | "durationSeconds" | "drainSeconds">;

export function kcpClientCommand(options: KcpWorkload): string[] {
  return [
    ensureKcpPeerBuilt(),
    "client",
    "-addr",
    `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`,
    "-connections",
    String(options.connections),
    "-first-connection",
    String(options.firstConnection),
    "-rate",
    String(options.ratePerSecond),
    "-size",
    String(options.sizeBytes),
    "-duration",
    String(options.durationSeconds),
    "-drain",
    String(options.drainSeconds),
  ];
}
