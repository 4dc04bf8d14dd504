// A handshake flood against the real server process: 64 sockets on 64 distinct 127/8
// addresses fire valid INITIALs as fast as this machine sends them, for a few seconds.
// Claim: the server keeps no state per source before the cookie comes back (no connection
// opens, none is active, RSS stays flat), and a legitimate client still connects and
// exchanges a message during the flood.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { connect } from "../../src/index.ts";
import { freePort, startServerProcess } from "../support/serverProcess.ts";
import { fetchStats, MIB, mib } from "./support/serverStats.ts";
import type { FloodResult } from "../../tools/fuzz/handshakeFlood.ts";

const root = join(import.meta.dir, "..", "..");
const FLOOD_SECONDS = 4;
const FLOOD_SOCKETS = 64;
const FLOOD_DATAGRAMS_MAX = 2_000_000;
/** RSS may move with allocator and JIT noise; per-source state for ~10^5 sources would not fit in it. */
const RSS_GROWTH_BYTES_MAX = 48 * MIB;

test("handshake flood from 64 spoofed 127/8 sources: no per-source state, flat RSS, a real client connects", async () => {
  const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort())]);
  try {
    // Warm up the server's handshake path once, so the baseline includes JIT and pools.
    const warm = await connect("127.0.0.1", server.udpPort, { exclusiveSocket: true });
    await warm.close();
    await Bun.sleep(300);
    const before = await fetchStats(server.metricsUrl);

    const flood = Bun.spawn(
      [process.execPath, join(root, "tools/fuzz/handshakeFlood.ts"), "--port", String(server.udpPort),
        "--sockets", String(FLOOD_SOCKETS), "--seconds", String(FLOOD_SECONDS), "--max-datagrams", String(FLOOD_DATAGRAMS_MAX)],
      { cwd: root, stdout: "pipe", stderr: "pipe" },
    );
    await Bun.sleep(1000);
    const rssSamples: number[] = [];
    const during = await fetchStats(server.metricsUrl);
    rssSamples.push(during.process.rssBytes);

    // The legitimate client, in the middle of the flood.
    const connectStarted = performance.now();
    const client = await connect("127.0.0.1", server.udpPort, { exclusiveSocket: true });
    const connectMs = performance.now() - connectStarted;
    const echoed = new Promise<Uint8Array>((resolve) => client.once("message", (_channel, data) => resolve(data.slice())));
    const echoStarted = performance.now();
    client.send(0, new TextEncoder().encode("still here"));
    const reply = await Promise.race([echoed, Bun.sleep(5000).then(() => null)]);
    const echoMs = performance.now() - echoStarted;
    const floodWhileClient = await fetchStats(server.metricsUrl);
    rssSamples.push(floodWhileClient.process.rssBytes);
    await client.close();

    for (let i = 0; i < 20 && flood.exitCode === null; i++) {
      rssSamples.push((await fetchStats(server.metricsUrl)).process.rssBytes);
      await Bun.sleep(250);
    }
    const floodExit = await flood.exited;
    const floodOutput = await new Response(flood.stdout).text();
    expect(floodExit).toBe(0);
    const result = JSON.parse(floodOutput.trim().split("\n").pop()!) as FloodResult;
    await Bun.sleep(500);
    const after = await fetchStats(server.metricsUrl);
    rssSamples.push(after.process.rssBytes);

    const received = after.packets.received.total - before.packets.received.total;
    const rssMax = Math.max(...rssSamples);
    console.log(
      `[handshake flood] ${result.datagramsSent} INITIALs (${(result.bytesSent / MIB).toFixed(0)} MiB) from ${result.sourceAddresses} addresses ` +
        `in ${result.seconds.toFixed(2)} s = ${result.datagramsPerSecond}/s sent; server received ${received} datagrams; ` +
        `RETRYs back ${result.retriesReceived}, HANDSHAKEs back ${result.handshakesReceived}; ` +
        `legit client connected in ${connectMs.toFixed(0)} ms, echo in ${echoMs.toFixed(0)} ms; ` +
        `RSS before ${mib(before.process.rssBytes)} MiB, max during ${mib(rssMax)} MiB, after ${mib(after.process.rssBytes)} MiB; ` +
        `connections active during ${during.connections.active}, opened +${after.connections.opened - before.connections.opened}; drops ${JSON.stringify(after.drops)}`,
    );

    expect(result.datagramsSent).toBeGreaterThan(50_000);
    expect(received).toBeGreaterThan(10_000);
    // No state before the cookie returns: nothing opened or active for the flood.
    expect(during.connections.active).toBe(0);
    expect(after.connections.opened - before.connections.opened).toBe(1); // the legitimate client only
    expect(after.handshakes.completed - before.handshakes.completed).toBe(1);
    expect(result.handshakesReceived).toBe(0);
    expect(after.connections.active).toBe(0);
    // Flat memory.
    expect(rssMax - before.process.rssBytes).toBeLessThan(RSS_GROWTH_BYTES_MAX);
    // The legitimate client got through.
    expect(reply === null ? null : new TextDecoder().decode(reply)).toBe("still here");
  } finally {
    await server.stop("SIGKILL");
  }
}, 30_000);
