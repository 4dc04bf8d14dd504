import { expect, test } from "bun:test";
import { connect, createServer, type RudpConnection } from "../../src/index.ts";
import { driversUnderTest, waitFor } from "./drivers.ts";

const CONNECTIONS = 1000;

for (const driver of driversUnderTest()) {
  test(`${driver}: ${CONNECTIONS} connections to one server, each echoes`, async () => {
    const server = createServer({ port: 0, driver });
    server.on("connection", (c) => c.on("message", (channel, data) => c.send(channel, data)));
    await server.listen();
    const clients: RudpConnection[] = [];
    try {
      for (let batch = 0; batch < CONNECTIONS; batch += 100) {
        const opened = await Promise.all(Array.from({ length: 100 }, () => connect("127.0.0.1", server.address.port, { driver })));
        clients.push(...opened);
      }
      expect(server.connections.size).toBe(CONNECTIONS);
      let echoes = 0;
      for (const client of clients) {
        client.on("message", () => echoes++);
        client.send(0, new Uint8Array(32));
      }
      await waitFor("an echo on every connection", () => echoes === CONNECTIONS, 15_000);
    } finally {
      await Promise.all(clients.map((c) => c.close({ graceful: false })));
      await server.close(1000);
    }
  }, 60_000);
}
