// The bun-rudp adapter end to end: `bun run loadgen` against a spawned `bun run server`
// (fallback driver: no native build needed), reliable-ordered.
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = join(import.meta.dir, "../../bench/loadgen/cli.ts");

test("loadgen against the bun-rudp server delivers every message once, with transport stats", async () => {
  const jsonPath = join(tmpdir(), `loadgen-rudp-${process.pid}.json`);
  try {
    const child = Bun.spawnSync(
      [process.execPath, cli, "--system", "rudp-fallback", "--spawn-server", "--connections", "4", "--rate", "1000", "--duration", "1", "--drain", "3", "--quiet", "--json", jsonPath],
      { stdout: "pipe", stderr: "pipe", timeout: 30_000 },
    );
    expect(child.stderr.toString()).toBe("");
    expect(child.exitCode).toBe(0);
    const summary = await Bun.file(jsonPath).json();
    expect(summary.connections).toBe(4);
    expect(summary.sent).toBe(1000);
    expect(summary.delivered).toBe(1000);
    expect(summary.duplicates).toBe(0);
    expect(summary.clientTransport.packetsSent).toBeGreaterThan(0);
    expect(summary.server.packetsSent).toBeGreaterThan(0);
  } finally {
    rmSync(jsonPath, { force: true });
  }
}, 40_000);
