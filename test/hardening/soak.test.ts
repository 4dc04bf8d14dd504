// Echo through loss, CI form: a fixed 8 x 2500 messages over 8 connections to the real server
// process, through the impairment proxy with 1% loss each way. Pass: every message comes back
// exactly once and in order on its connection, the proxy really dropped datagrams (which the
// protocol repaired), and no connection closed. It checks behaviour only; the time-based soak
// (RSS and heap trend, seconds without delivery, RTT per second) is a tool:
// `./scripts/bun run soak -- --seconds 3600` (tools/soak/run.ts, bench/REPORT-hardening.md).
import { expect, test } from "bun:test";
import { connect, type RudpConnection } from "../../src/index.ts";
import { defaultProxyOptions, startImpairmentProxy } from "../../bench/loadgen/impairmentProxy.ts";
import { noImpairment } from "../../bench/loadgen/impairment.ts";
import { freePort, startServerProcess } from "../support/serverProcess.ts";

const CONNECTIONS = 8;
const MESSAGES_PER_CONNECTION = 2500;
const MESSAGE_BYTES = 64;
/** Sent per connection per 10 ms tick: the load is paced so the proxy's queues are not the test. */
const MESSAGES_PER_TICK = 25;
const SEED = Number(process.env.HARDENING_SEED ?? 1);

interface Flow {
  connection: RudpConnection;
  sent: number;
  echoed: number[];
  closeReasons: string[];
}

test(`echo through 1% loss each way: ${CONNECTIONS} x ${MESSAGES_PER_CONNECTION} messages come back exactly once, in order`, async () => {
  const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort())]);
  const proxy = await startImpairmentProxy({
    protocol: "udp",
    listenHost: "127.0.0.1",
    listenPort: 0,
    targetHost: "127.0.0.1",
    targetPort: server.udpPort,
    impairment: { ...noImpairment, lossRate: 0.01, seed: SEED },
    ...defaultProxyOptions,
  });
  const flows: Flow[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      const flow: Flow = { connection: await connect("127.0.0.1", proxy.port, { exclusiveSocket: true }), sent: 0, echoed: [], closeReasons: [] };
      flow.connection.on("message", (_channel, data) => flow.echoed.push(new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true)));
      flow.connection.on("close", (info) => flow.closeReasons.push(info.reason));
      flows.push(flow);
    }
    const message = new Uint8Array(MESSAGE_BYTES);
    const view = new DataView(message.buffer);
    const total = CONNECTIONS * MESSAGES_PER_CONNECTION;
    const deadline = performance.now() + 60_000;
    // Bounded by count and by time: send paced, then wait for the last echoes.
    for (let tick = 0; tick < 100_000 && performance.now() < deadline; tick++) {
      for (const flow of flows) {
        for (let i = 0; i < MESSAGES_PER_TICK && flow.sent < MESSAGES_PER_CONNECTION; i++) {
          view.setUint32(0, flow.sent, true);
          if (!flow.connection.send(0, message)) break; // send queue full: try again next tick
          flow.sent++;
        }
      }
      if (flows.reduce((n, flow) => n + flow.echoed.length, 0) >= total) break;
      await Bun.sleep(10);
    }
    const proxyCounters = proxy.counters();
    const lostToServer = proxyCounters.clientToServer.droppedRandom + proxyCounters.clientToServer.droppedBurst;
    const lostBack = proxyCounters.serverToClient.droppedRandom + proxyCounters.serverToClient.droppedBurst;
    console.log(
      `[echo through loss] sent ${flows.map((f) => f.sent).join("/")}, echoed ${flows.map((f) => f.echoed.length).join("/")}; ` +
        `proxy dropped ${lostToServer} of ${proxyCounters.clientToServer.received} datagrams toward the server, ${lostBack} of ${proxyCounters.serverToClient.received} back (seed ${SEED})`,
    );
    const inOrder = Array.from({ length: MESSAGES_PER_CONNECTION }, (_, i) => i);
    for (const flow of flows) {
      expect(flow.sent).toBe(MESSAGES_PER_CONNECTION);
      expect(flow.echoed).toEqual(inOrder); // each once, in order: nothing lost, duplicated or reordered
      expect(flow.closeReasons).toEqual([]);
    }
    // Losses were injected both ways, and repaired above.
    expect(lostToServer).toBeGreaterThan(0);
    expect(lostBack).toBeGreaterThan(0);
  } finally {
    for (const flow of flows) if (!flow.connection.closed) await Promise.race([flow.connection.close(), Bun.sleep(1000)]);
    proxy.close();
    await server.stop("SIGKILL");
  }
}, 90_000);
