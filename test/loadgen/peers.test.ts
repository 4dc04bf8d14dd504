// The UDP and TCP peers echo what they receive (the TCP one frame by frame).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { launchServer, type LaunchedServer } from "../../bench/loadgen/serverLauncher.ts";
import { TcpSystemClient } from "../../bench/loadgen/systems/tcp.ts";
import { UdpSystemClient } from "../../bench/loadgen/systems/udp.ts";
import type { SystemClient } from "../../bench/loadgen/systems/types.ts";

async function echoRoundTrip(client: SystemClient, server: LaunchedServer, messages: Uint8Array[]): Promise<Uint8Array[]> {
  const received: Uint8Array[] = [];
  const connection = await client.connect(server.host, server.port, {
    onMessage: (data) => received.push(data.slice()),
    onDrain: () => {},
    onClose: () => {},
  });
  for (const message of messages) expect(connection.send(message)).toBe(true);
  connection.flush();
  for (let i = 0; i < 100 && received.length < messages.length; i++) await Bun.sleep(10);
  connection.close();
  return received;
}

const messages = [new Uint8Array([1, 2, 3]), new Uint8Array(1200).fill(7), new Uint8Array(24).fill(9)];

for (const system of ["udp", "tcp"] as const) {
  describe(`${system} peer`, () => {
    let server: LaunchedServer;
    beforeAll(async () => {
      server = await launchServer(system, "127.0.0.1", 1);
    });
    afterAll(async () => {
      await server.stop();
    });
    test("echoes every message unchanged", async () => {
      const client = system === "udp" ? new UdpSystemClient() : new TcpSystemClient();
      const received = await echoRoundTrip(client, server, messages);
      // UDP on loopback keeps order for one socket pair; TCP always does.
      expect(received).toEqual(messages);
    });
  });
}
