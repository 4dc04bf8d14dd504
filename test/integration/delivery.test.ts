import { afterEach, describe, expect, test } from "bun:test";
import { connect, createServer, RudpError, type RudpConnection, type RudpServer } from "../../src/index.ts";
import { driversUnderTest, waitFor } from "./drivers.ts";

const open: { servers: RudpServer[]; clients: RudpConnection[] } = { servers: [], clients: [] };

afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.close({ graceful: false })));
  await Promise.all(open.servers.splice(0).map((s) => s.close(500)));
});

async function echoServer(driver: string, host = "127.0.0.1", options: Record<string, unknown> = {}) {
  const server = createServer({ host, port: 0, driver: driver as "native", ...options });
  server.on("connection", (connection) => {
    connection.on("message", (channel, data) => connection.send(channel, data));
  });
  await server.listen();
  open.servers.push(server);
  return server;
}

function message(index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, index);
  for (let i = 4; i < size; i++) bytes[i] = (index * 31 + i) & 0xff;
  return bytes;
}

for (const driver of driversUnderTest()) {
  describe(`${driver} driver`, () => {
    for (const host of ["127.0.0.1", "::1"]) {
      test(`handshake and echo over ${host}`, async () => {
        const server = await echoServer(driver, host);
        const client = await connect(host, server.address.port, { driver: driver as "native" });
        open.clients.push(client);
        expect(server.connections.size).toBe(1);
        const received: Uint8Array[] = [];
        client.on("message", (_channel, data) => received.push(data.slice()));
        for (let i = 0; i < 100; i++) expect(client.send(0, message(i, 64))).toBe(true);
        await waitFor("100 echoes", () => received.length === 100);
        received.forEach((data, i) => expect(data).toEqual(message(i, 64)));
      });
    }

    test("all four delivery modes, side by side", async () => {
      const channelModes = { 0: "reliable-ordered", 1: "reliable-unordered", 2: "unreliable", 3: "unreliable-sequenced" } as const;
      const server = await echoServer(driver, "127.0.0.1", { channelModes });
      const client = await connect("127.0.0.1", server.address.port, { driver: driver as "native", channelModes });
      open.clients.push(client);
      const byChannel: number[][] = [[], [], [], []];
      client.on("message", (channel, data) => byChannel[channel]!.push(new DataView(data.buffer, data.byteOffset).getUint32(0)));
      const count = 200;
      for (let i = 0; i < count; i++) for (let channel = 0; channel < 4; channel++) client.send(channel, message(i, 100));
      await waitFor("reliable channels complete", () => byChannel[0]!.length === count && byChannel[1]!.length === count);
      await Bun.sleep(50);
      expect(byChannel[0]).toEqual([...Array(count).keys()]); // in order
      expect([...byChannel[1]!].sort((a, b) => a - b)).toEqual([...Array(count).keys()]); // all, once
      expect(new Set(byChannel[2]).size).toBe(byChannel[2]!.length); // never duplicated
      for (let i = 1; i < byChannel[3]!.length; i++) expect(byChannel[3]![i]!).toBeGreaterThan(byChannel[3]![i - 1]!); // never older
      expect(byChannel[2]!.length).toBeGreaterThan(count / 2); // loopback loses little
    });

    test("a 10 MB message arrives intact", async () => {
      const limits = { maxMessageBytes: 16 << 20, reassemblyBytesPerConnection: 32 << 20, reassemblyBytesTotal: 64 << 20, sendBufferBytesPerConnection: 32 << 20 };
      const server = await echoServer(driver, "127.0.0.1", limits);
      const client = await connect("127.0.0.1", server.address.port, { driver: driver as "native", ...limits });
      open.clients.push(client);
      const big = new Uint8Array(10 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
      big[big.length - 1] = 0x5a;
      let echoed: Uint8Array | null = null;
      client.on("message", (_channel, data) => (echoed = data.slice()));
      expect(client.send(0, big)).toBe(true);
      await waitFor("10 MB echo", () => echoed !== null, 20_000);
      expect(Bun.hash(echoed!)).toBe(Bun.hash(big));
    }, 30_000);

    test("backpressure: send returns false when the buffer is full, then drain", async () => {
      const server = await echoServer(driver, "127.0.0.1");
      const client = await connect("127.0.0.1", server.address.port, { driver: driver as "native", sendBufferBytesPerConnection: 64 * 1024, maxMessageBytes: 16 * 1024 });
      open.clients.push(client);
      let accepted = 0;
      while (client.send(5, message(accepted, 1000))) {
        accepted++;
        if (accepted > 10_000) throw new Error("send never reported a full buffer");
      }
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(70);
      let drained = false;
      client.once("drain", () => (drained = true));
      let echoes = 0;
      client.on("message", () => echoes++);
      await waitFor("drain", () => drained);
      await waitFor("every accepted message echoed", () => echoes === accepted);
    });

    test("oversized messages are refused with a clear error", async () => {
      const server = await echoServer(driver, "127.0.0.1");
      const client = await connect("127.0.0.1", server.address.port, { driver: driver as "native", maxMessageBytes: 4096 });
      open.clients.push(client);
      expect(() => client.send(0, new Uint8Array(5000))).toThrow(RudpError);
      expect(() => client.send(300, new Uint8Array(5))).toThrow(/channel must be an integer from 0 to 255/);
    });

    test("close reasons reach both sides", async () => {
      const server = await echoServer(driver, "127.0.0.1");
      const closedOnServer = new Promise<string>((resolve) => server.on("disconnect", (c) => resolve(c.closeInfo!.reason)));
      const client = await connect("127.0.0.1", server.address.port, { driver: driver as "native" });
      await client.close();
      expect(client.closeInfo?.reason).toBe("graceful");
      expect(await closedOnServer).toBe("graceful");
      expect(() => client.send(0, new Uint8Array(1))).toThrow(/closed/);

      const second = await connect("127.0.0.1", server.address.port, { driver: driver as "native" });
      const reason = new Promise<string>((resolve) => second.on("close", (info) => resolve(info.reason)));
      await server.close(1000);
      open.servers.length = 0;
      expect(await reason).toBe("server-shutdown");
    });

    test("connecting to a port with no server fails with a reason", async () => {
      const error = await connect("127.0.0.1", 9, { driver: driver as "native", handshakeTimeoutMs: 300 }).catch((e) => e);
      expect(error).toBeInstanceOf(RudpError);
      expect(["ERR_HANDSHAKE_TIMEOUT", "ERR_CONNECT_FAILED"]).toContain(error.code);
    });
  });
}
