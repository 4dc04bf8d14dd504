// The UDP impairment proxy end to end on loopback: traffic passes through it to the UDP peer
// and back, and its counters add up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseImpairment } from "../../bench/loadgen/impairment.ts";
import { defaultProxyOptions, type ImpairmentProxy, startImpairmentProxy } from "../../bench/loadgen/impairmentProxy.ts";
import { launchServer, type LaunchedServer } from "../../bench/loadgen/serverLauncher.ts";
import { UdpSystemClient } from "../../bench/loadgen/systems/udp.ts";
import { TcpSystemClient } from "../../bench/loadgen/systems/tcp.ts";

describe("UDP impairment proxy", () => {
  let server: LaunchedServer;
  let proxy: ImpairmentProxy;
  beforeAll(async () => {
    server = await launchServer("udp", "127.0.0.1", 1);
    proxy = await startImpairmentProxy({
      protocol: "udp",
      listenHost: "127.0.0.1",
      listenPort: 0,
      targetHost: server.host,
      targetPort: server.port,
      impairment: parseImpairment("loss=10%,seed=5"),
      ...defaultProxyOptions,
    });
  });
  afterAll(async () => {
    proxy.close();
    await server.stop();
  });

  test("drops ~10% per direction and forwards the rest", async () => {
    let received = 0;
    const connection = await new UdpSystemClient().connect("127.0.0.1", proxy.port, {
      onMessage: () => received++,
      onDrain: () => {},
      onClose: () => {},
    });
    const sent = 1000;
    const packet = new Uint8Array(64);
    for (let i = 0; i < sent; i++) {
      connection.send(packet);
      if (i % 50 === 49) await Bun.sleep(1); // stay under the socket buffers
    }
    for (let i = 0; i < 100; i++) {
      const counters = proxy.counters();
      if (counters.serverToClient.received + counters.clientToServer.droppedRandom >= sent && received >= counters.serverToClient.forwarded) break;
      await Bun.sleep(10);
    }
    connection.close();
    const counters = proxy.counters();
    expect(counters.flowsOpened).toBe(1);
    expect(counters.clientToServer.received).toBe(sent);
    expect(counters.clientToServer.forwarded + counters.clientToServer.droppedRandom).toBe(sent);
    expect(counters.clientToServer.droppedRandom).toBeGreaterThan(50);
    expect(counters.clientToServer.droppedRandom).toBeLessThan(150);
    expect(received).toBe(counters.serverToClient.forwarded);
    expect(received / sent).toBeGreaterThan(0.7);
    expect(received / sent).toBeLessThan(0.9);
  });
});

describe("TCP impairment proxy", () => {
  test("relays framed messages with added delay and reports loss as not applied", async () => {
    const server = await launchServer("tcp", "127.0.0.1", 1);
    const proxy = await startImpairmentProxy({
      protocol: "tcp",
      listenHost: "127.0.0.1",
      listenPort: 0,
      targetHost: server.host,
      targetPort: server.port,
      impairment: parseImpairment("delay=20,loss=5%"),
      ...defaultProxyOptions,
    });
    try {
      const arrivals: number[] = [];
      const connection = await new TcpSystemClient().connect("127.0.0.1", proxy.port, {
        onMessage: () => arrivals.push(performance.now()),
        onDrain: () => {},
        onClose: () => {},
      });
      const startMs = performance.now();
      for (let i = 0; i < 10; i++) connection.send(new Uint8Array(100).fill(i));
      connection.flush();
      for (let i = 0; i < 100 && arrivals.length < 10; i++) await Bun.sleep(10);
      connection.close();
      expect(arrivals.length).toBe(10);
      // 20 ms each way.
      expect(arrivals[0] - startMs).toBeGreaterThan(35);
      expect(proxy.counters().notApplied).toEqual(["loss"]);
    } finally {
      proxy.close();
      await server.stop();
    }
  });
});
