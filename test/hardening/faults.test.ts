// Faults: a client that vanishes mid-transfer, a server that restarts, a full receive ring,
// a missing or broken native library, a port in use. Each claim is observed, not assumed.
import { describe, expect, test } from "bun:test";
import { writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type RudpConnection, type RudpServer } from "../../src/index.ts";
import { nativeStatus } from "../../src/native/load.ts";
import { runCli, startServerProcess, freePort, type ServerProcess } from "../support/serverProcess.ts";
import { RawPeer, rawHandshake, sendFrames } from "../../tools/fuzz/rawPeer.ts";
import { messageFrame, parseData } from "../../tools/fuzz/wireCraft.ts";
import { fetchStats, sumCounts } from "./support/serverStats.ts";

const root = join(import.meta.dir, "..", "..");
const IDLE_TIMEOUT_MS = 1000;
/** Timer granularity, the closing bookkeeping and a loaded 2-core machine. */
const IDLE_SLACK_MS = 1000;

function echoServer(options: Parameters<typeof createServer>[0]): RudpServer {
  const server = createServer({ host: "127.0.0.1", port: 0, ...options });
  server.on("connection", (connection) => connection.on("message", (channel, data) => connection.send(channel, data)));
  return server;
}

function nextDisconnect(server: RudpServer, timeoutMs: number): Promise<{ reason: string; atMs: number } | null> {
  return Promise.race([
    new Promise<{ reason: string; atMs: number }>((resolve) =>
      server.once("disconnect", (connection) => resolve({ reason: connection.closeInfo?.reason ?? "?", atMs: performance.now() })),
    ),
    Bun.sleep(timeoutMs).then(() => null),
  ]);
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function echoOnce(connection: RudpConnection, text: string, timeoutMs = 3000): Promise<string | null> {
  const reply = new Promise<string>((resolve) => connection.once("message", (_channel, data) => resolve(new TextDecoder().decode(data))));
  connection.send(0, new TextEncoder().encode(text));
  return Promise.race([reply, Bun.sleep(timeoutMs).then(() => null)]);
}

async function freeUdpPort(): Promise<number> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = socket.port;
  socket.close();
  return port;
}

describe("a client vanishes mid-transfer", () => {
  test("raw client with unacknowledged data in flight goes silent: idle-timeout within the idle timeout, state released", async () => {
    const server = echoServer({ idleTimeoutMs: IDLE_TIMEOUT_MS });
    const { port } = await server.listen();
    try {
      const peer = await RawPeer.open({ host: "127.0.0.1", port });
      const connection = await rawHandshake(peer);
      await until("the server-side connection", () => server.connections.size === 1, 2000);
      for (let i = 0; i < 20; i++) sendFrames(connection, messageFrame(0, i, new Uint8Array(1000).fill(i)));
      const echo = await peer.take((d) => (parseData(d)?.messages.length ?? 0) > 0, 2000);
      expect(echo).not.toBeNull(); // data is flowing back, and we never acknowledge it
      const closed = nextDisconnect(server, IDLE_TIMEOUT_MS + IDLE_SLACK_MS + 2000);
      const silentFromMs = performance.now();
      peer.close();
      const outcome = await closed;
      const afterMs = outcome ? outcome.atMs - silentFromMs : -1;
      console.log(`[faults] raw client vanished: server closed with ${outcome?.reason} after ${afterMs.toFixed(0)} ms (idle timeout ${IDLE_TIMEOUT_MS} ms)`);
      expect(outcome?.reason).toBe("idle-timeout");
      expect(afterMs).toBeLessThanOrEqual(IDLE_TIMEOUT_MS + IDLE_SLACK_MS);
      expect(server.connections.size).toBe(0);
      await until("the engine to release the connection", () => server.endpoint!.engine.counters.connectionsActive === 0, 2000);
      expect(server.endpoint!.engine.counters.connectionsClosed["idle-timeout"]).toBe(1);
    } finally {
      await server.close();
    }
  });

  test("a real client process streaming 16 KiB messages is SIGKILLed: idle-timeout, state released", async () => {
    const server = echoServer({ idleTimeoutMs: IDLE_TIMEOUT_MS });
    const { port } = await server.listen();
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "support/vanishingClient.ts"), String(port)], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
      const first = await Promise.race([reader.read(), Bun.sleep(10_000).then(() => null)]);
      expect(first && new TextDecoder().decode(first.value)).toContain("streaming");
      await Bun.sleep(200); // mid-transfer
      const received = server.endpoint!.engine.counters.messagesReceived;
      const closed = nextDisconnect(server, IDLE_TIMEOUT_MS + IDLE_SLACK_MS + 2000);
      const killedAtMs = performance.now();
      child.kill("SIGKILL");
      const outcome = await closed;
      const afterMs = outcome ? outcome.atMs - killedAtMs : -1;
      console.log(`[faults] client process killed after ${received} messages received: server closed with ${outcome?.reason} after ${afterMs.toFixed(0)} ms`);
      expect(received).toBeGreaterThan(0);
      expect(outcome?.reason).toBe("idle-timeout");
      expect(afterMs).toBeLessThanOrEqual(IDLE_TIMEOUT_MS + IDLE_SLACK_MS);
      expect(server.connections.size).toBe(0);
      await until("the engine to release the connection", () => server.endpoint!.engine.counters.connectionsActive === 0, 2000);
    } finally {
      child.kill("SIGKILL");
      await server.close();
    }
  }, 20_000);
});

describe("the server restarts", () => {
  async function startOn(port: number): Promise<ServerProcess> {
    return startServerProcess(["--port", String(port), "--metrics-port", "0"]);
  }

  test("graceful restart (SIGTERM): clients get server-shutdown with a clear message, and reconnect to the new process", async () => {
    const port = await freeUdpPort();
    let server = await startOn(port);
    try {
      const client = await connect("127.0.0.1", port, { exclusiveSocket: true });
      expect(await echoOnce(client, "before")).toBe("before");
      const closed = new Promise<string>((resolve) => client.once("close", (info) => resolve(`${info.reason}|${info.message}`)));
      expect(await server.stop("SIGTERM")).toBe(0);
      const [reason, message] = (await Promise.race([closed, Bun.sleep(5000).then(() => "none|")])).split("|");
      console.log(`[faults] SIGTERM: client saw reason ${reason}: "${message}"`);
      expect(reason).toBe("server-shutdown");
      expect(message!.length).toBeGreaterThan(0);
      server = await startOn(port);
      const again = await connect("127.0.0.1", port, { exclusiveSocket: true });
      expect(await echoOnce(again, "after")).toBe("after");
      await again.close();
    } finally {
      await server.stop("SIGKILL");
    }
  }, 30_000);

  test("crash (SIGKILL): the client notices by idle-timeout, and reconnects once the server is back", async () => {
    const port = await freeUdpPort();
    let server = await startOn(port);
    try {
      const client = await connect("127.0.0.1", port, { exclusiveSocket: true, idleTimeoutMs: IDLE_TIMEOUT_MS });
      expect(await echoOnce(client, "before")).toBe("before");
      const closed = new Promise<string>((resolve) => client.once("close", (info) => resolve(info.reason)));
      const killedAtMs = performance.now();
      await server.stop("SIGKILL");
      const reason = await Promise.race([closed, Bun.sleep(IDLE_TIMEOUT_MS + IDLE_SLACK_MS + 2000).then(() => "none")]);
      console.log(`[faults] SIGKILL: client saw ${reason} after ${(performance.now() - killedAtMs).toFixed(0)} ms`);
      expect(reason).toBe("idle-timeout");
      server = await startOn(port);
      const again = await connect("127.0.0.1", port, { exclusiveSocket: true });
      expect(await echoOnce(again, "after")).toBe("after");
      await again.close();
    } finally {
      await server.stop("SIGKILL");
    }
  }, 30_000);
});

describe("receive ring full (native driver)", () => {
  test.skipIf(!nativeStatus().available)("a flood while the JS thread is blocked: drops counted by reason, no crash, service resumes", async () => {
    const server = echoServer({ driver: "native" });
    const { port } = await server.listen();
    try {
      const driver = server.endpoint!.driver;
      expect(driver.kind).toBe("native");
      const peer = await RawPeer.open({ host: "127.0.0.1", port }, "127.40.0.1");
      const garbage = new Uint8Array(64).fill(0xab);
      const sent = 40_000;
      // Synchronous: the JS thread sends and cannot drain; the receive thread fills its ring.
      let accepted = 0;
      for (let i = 0; i < sent; i++) if (peer.send(garbage)) accepted++;
      const blockUntil = performance.now() + 300;
      while (performance.now() < blockUntil); // still blocked while the receive thread drops
      await Bun.sleep(500);
      const drops = { ...driver.counters.drops };
      const engineDrops = { ...server.endpoint!.engine.counters.drops };
      const ringDrops = (drops["ring-full"] ?? 0) + (drops["no-slot"] ?? 0);
      console.log(`[faults] ring flood: ${accepted}/${sent} sent while blocked; driver drops ${JSON.stringify(drops)}; engine drops ${JSON.stringify(engineDrops)}; driver received ${driver.counters.datagramsReceived}`);
      expect(ringDrops).toBeGreaterThan(0);
      // Everything that reached JS was counted as a drop too (garbage has no valid checksum).
      expect(sumCounts(drops) - ringDrops + sumCounts(engineDrops)).toBe(driver.counters.datagramsReceived);
      const client = await connect("127.0.0.1", port, { exclusiveSocket: true, driver: "fallback" });
      expect(await echoOnce(client, "alive")).toBe("alive");
      await client.close();
      peer.close();
    } finally {
      await server.close();
    }
  });
});

describe("native library missing or broken at start", () => {
  const garbageLibrary = join(tmpdir(), `rudp-garbage-${process.pid}.so`);

  for (const [name, path] of [
    ["missing (RUDP_NATIVE_LIB=/nonexistent)", "/nonexistent/librudp.so"],
    ["garbage .so file", garbageLibrary],
  ] as const) {
    test(`${name}: runs on the fallback driver and says so in one line`, async () => {
      writeFileSync(garbageLibrary, crypto.getRandomValues(new Uint8Array(4096)));
      const saved = process.env.RUDP_NATIVE_LIB;
      process.env.RUDP_NATIVE_LIB = path;
      let server: ServerProcess | null = null;
      try {
        server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort())]);
      } finally {
        if (saved === undefined) delete process.env.RUDP_NATIVE_LIB;
        else process.env.RUDP_NATIVE_LIB = saved;
        rmSync(garbageLibrary, { force: true });
      }
      try {
        const client = await connect("127.0.0.1", server.udpPort, { exclusiveSocket: true });
        expect(await echoOnce(client, "fallback works")).toBe("fallback works");
        await client.close();
        const stats = await fetchStats(server.metricsUrl);
        expect(stats.driver).toBe("fallback");
        const notices = server.output().split("\n").filter((line) => line.includes("fallback driver"));
        console.log(`[faults] native ${name}: ${notices.join(" // ")}`);
        expect(notices.length).toBe(1);
        expect(notices[0]).toContain(path);
      } finally {
        await server.stop("SIGKILL");
      }
    }, 20_000);
  }
});

describe("port in use", () => {
  for (const driver of ["fallback", ...(nativeStatus().available ? ["native", "auto"] : [])]) {
    test(`--driver ${driver}: one clear line, exit code 1`, async () => {
      const holder = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
      try {
        const result = runCli(["--port", String(holder.port), "--metrics-port", "0", "--driver", driver]);
        const lines = result.stderr.trim().split("\n").filter((line) => line.length > 0);
        console.log(`[faults] port in use, ${driver}: exit ${result.exitCode}: ${lines.join(" // ")}`);
        expect(result.exitCode).toBe(1);
        expect(lines.length).toBe(1);
        expect(lines[0]).toMatch(/already in use/);
      } finally {
        holder.close();
      }
    });
  }
});
