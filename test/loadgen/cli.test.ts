// The load generator's command line: bad flags exit 2 with one line; a smoke run against the
// UDP peer writes a JSON summary with delivered messages.
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const cli = join(import.meta.dir, "../../bench/loadgen/cli.ts");

function run(args: string[]) {
  const child = Bun.spawnSync([process.execPath, cli, ...args], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { exitCode: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
}

describe("loadgen CLI", () => {
  for (const args of [["--system", "carrier-pigeon", "--spawn-server"], ["--system", "udp", "--spawn-server", "--rate", "fast"], ["--system", "udp", "--bogus"], ["--system", "udp"], ["--system", "udp", "--spawn-server", "--proxy", "loss=200%"], ["--system", "udp", "--spawn-server", "--host", "10.0.0.1"]]) {
    test(`exits 2 with one line for ${args.join(" ")}`, () => {
      const result = run(args);
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines.length).toBe(1);
      expect(lines[0]).toStartWith("loadgen: ");
    });
  }

  test("--help prints the usage and exits 0", () => {
    const result = run(["--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("--system");
  });

  test("a smoke run against the UDP peer writes a JSON summary with delivered messages", async () => {
    const jsonPath = join(tmpdir(), `loadgen-smoke-${process.pid}.json`);
    try {
      const result = run(["--system", "udp", "--spawn-server", "--connections", "4", "--rate", "2000", "--duration", "1", "--drain", "1", "--quiet", "--json", jsonPath]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain("delivered msg/s");
      const summary = await Bun.file(jsonPath).json();
      expect(summary.system).toBe("udp");
      expect(summary.sent).toBe(2000);
      expect(summary.delivered).toBeGreaterThan(0);
      expect(summary.rttUs.count).toBe(summary.delivered);
      expect(summary.server.source).toBe("proc");
      expect(summary.server.rssBytesEnd).toBeGreaterThan(0);
    } finally {
      rmSync(jsonPath, { force: true });
    }
  }, 40_000);
});
