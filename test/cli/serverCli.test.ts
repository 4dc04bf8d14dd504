import { describe, expect, test } from "bun:test";
import { connect } from "../../src/index.ts";
import { parseServerConfig } from "../../src/server/config.ts";
import type { StatsSnapshot } from "../../src/metrics/statsSchema.ts";
import { nativeStatus } from "../../src/native/load.ts";
import { ensureDebianPackage } from "../support/systemPackages.ts";
import { freePort, runCli, startServerProcess } from "../support/serverProcess.ts";
import { waitFor } from "../integration/drivers.ts";
import { testWhenAvailable } from "../support/skip.ts";

const nativeMissing = nativeStatus().available ? null : `the native driver is not available: ${nativeStatus().reason}`;

describe("bun run server: usage", () => {
  test("--help prints the options and exits 0", () => {
    const result = runCli(["--help"]);
    expect(result.exitCode).toBe(0);
    for (const flag of ["--host", "--port", "--workers", "--max-connections", "--max-memory", "--mtu", "--cc", "--metrics-host", "--metrics-port", "--log-level", "--driver", "--numa-node", "--rx-cpu"]) {
      expect(result.stdout).toContain(flag);
    }
  });

  for (const [args, expected] of [
    [["--port", "seventy"], /--port must be an integer from 0 to 65535 \(got "seventy"\)/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--max-memory", "lots"], /--max-memory must be a size of at least 1048576 bytes, like 512M or 2G \(got "lots"\)/],
    [["--cc", "vegas"], /--cc must be one of newreno, cubic, adaptive/],
    [["--workers", "2", "--driver", "fallback"], /--workers > 1 needs the native driver/],
    [["--config", "/nonexistent.json"], /cannot read config file/],
  ] as const) {
    test(`${args.join(" ")} -> one clear line, exit 2`, () => {
      const result = runCli([...args]);
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(expected);
    });
  }

  test("--max-memory takes bytes or K/M/G sizes; the default is 1 GiB per worker", () => {
    expect(parseServerConfig(["--max-memory", "512M"], {})!.maxMemoryBytes).toBe(512 * 1024 ** 2);
    expect(parseServerConfig(["--max-memory", "2G"], {})!.maxMemoryBytes).toBe(2 * 1024 ** 3);
    expect(parseServerConfig([], { RUDP_MAX_MEMORY: "3000000" })!.maxMemoryBytes).toBe(3_000_000);
    expect(parseServerConfig([], {})!.maxMemoryBytes).toBe(1024 ** 3);
  });

  test("a port in use: one clear line, exit 1", async () => {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const result = runCli(["--port", String(holder.port), "--metrics-port", "0", "--driver", "fallback"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toMatch(/already in use/);
    } finally {
      holder.close();
    }
  });
});

describe("bun run server: end to end", () => {
  test("serves clients, exports valid Prometheus metrics, exits 0 on SIGTERM", async () => {
    const promtool = ensureDebianPackage("promtool", "prometheus");
    if (!promtool.ok) throw new Error(`promtool is needed to validate /metrics: ${promtool.why}`);
    const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort()), "--log-level", "info"]);
    try {
      const client = await connect("127.0.0.1", server.udpPort);
      let echoes = 0;
      client.on("message", () => echoes++);
      for (let i = 0; i < 500; i++) client.send(0, new Uint8Array(64));
      await waitFor("500 echoes", () => echoes === 500);
      await Bun.sleep(1100); // one rate window
      const stats = (await (await fetch(`${server.metricsUrl}/stats`)).json()) as StatsSnapshot;
      expect(stats.messages.received.total).toBeGreaterThanOrEqual(500);
      expect(stats.connections.active).toBe(1);
      expect(stats.rttUsSinceStart.count).toBeGreaterThan(0);
      expect(stats.process.rssBytes).toBeGreaterThan(1 << 20);
      // "auto" picks native whenever it loads; its pools and NUMA node are checked below.
      expect(stats.driver).toBe(nativeStatus().available ? "native" : "fallback");
      const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
      expect(text).toContain("rudp_messages_total");
      const check = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text) });
      expect(check.stderr.toString() + check.stdout.toString()).toBe("");
      expect(check.exitCode).toBe(0);
      const closed = new Promise<string>((resolve) => client.on("close", (info) => resolve(info.reason)));
      expect(await server.stop("SIGTERM")).toBe(0);
      expect(await closed).toBe("server-shutdown");
    } finally {
      server.process.kill("SIGKILL");
    }
  }, 60_000);

  testWhenAvailable(nativeMissing)("--driver native: /stats shows the receive ring and send staging pools and the slab's NUMA node", async () => {
    const server = await startServerProcess(["--port", "0", "--driver", "native", "--metrics-port", String(await freePort())]);
    try {
      const client = await connect("127.0.0.1", server.udpPort);
      let echoes = 0;
      client.on("message", () => echoes++);
      for (let i = 0; i < 200; i++) client.send(0, new Uint8Array(64));
      await waitFor("200 echoes", () => echoes === 200);
      const stats = (await (await fetch(`${server.metricsUrl}/stats`)).json()) as StatsSnapshot;
      expect(stats.driver).toBe("native");
      // The receive ring and the send staging slots, read from native memory.
      expect(stats.pool.length).toBe(2);
      for (const pool of stats.pool) expect(pool.inUse + pool.free).toBeGreaterThan(0);
      expect(stats.pool[1]!.highWater).toBeGreaterThan(0); // 200 echoes were staged
      expect(stats.numaNode).toBeGreaterThanOrEqual(0); // read back with get_mempolicy, not null
      await client.close({ graceful: false });
    } finally {
      server.process.kill("SIGKILL");
    }
  }, 60_000);

  testWhenAvailable(nativeMissing)("--workers 2 share the port, both serve, metrics aggregate", async () => {
    const server = await startServerProcess(["--port", String(await freePort()), "--workers", "2", "--metrics-port", String(await freePort()), "--log-level", "debug"]);
    try {
      const clients = await Promise.all(Array.from({ length: 24 }, () => connect("127.0.0.1", server.udpPort, { exclusiveSocket: true })));
      let echoes = 0;
      for (const client of clients) {
        client.on("message", () => echoes++);
        client.send(0, new Uint8Array(16));
      }
      await waitFor("an echo per client", () => echoes === clients.length);
      const stats = (await (await fetch(`${server.metricsUrl}/stats`)).json()) as StatsSnapshot;
      expect(stats.workers).toBe(2);
      expect(stats.connections.active).toBe(clients.length);
      const opened = server.output().split("\n").filter((l) => l.includes("connection opened"));
      const workersServing = new Set(opened.map((l) => JSON.parse(l).worker));
      expect(opened.length).toBe(clients.length);
      expect(workersServing).toEqual(new Set([0, 1])); // 24 source ports: both workers get some
      await Promise.all(clients.map((c) => c.close({ graceful: false })));
      expect(await server.stop("SIGTERM")).toBe(0);
    } finally {
      server.process.kill("SIGKILL");
    }
  }, 60_000);
});
