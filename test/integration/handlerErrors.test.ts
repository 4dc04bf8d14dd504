// An exception in an application's handler must not take the server down (issue 14 item 13):
// the runtime catches it per event, the server emits "error" (or logs when nobody listens),
// and the other connections, and the same one, keep being served.
import { afterEach, expect, test } from "bun:test";
import { connect, createServer, type RudpConnection, type RudpServer } from "../../src/index.ts";
import { waitFor } from "./drivers.ts";

const open: { servers: RudpServer[]; clients: RudpConnection[] } = { servers: [], clients: [] };
afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.close({ graceful: false })));
  await Promise.all(open.servers.splice(0).map((s) => s.close(500)));
});

/** An echo server whose "message" handler throws on a message starting with byte 0xEE. */
async function throwingServer(onError: ((error: unknown, connection: RudpConnection | null) => void) | null) {
  const server = createServer({ host: "127.0.0.1", port: 0, driver: "fallback" });
  let connections = 0;
  server.on("connection", (connection) => {
    if (++connections === 2) throw new Error("connection handler bug");
    connection.on("message", (channel, data) => {
      if (data[0] === 0xee) throw new Error("message handler bug");
      connection.send(channel, data);
    });
  });
  if (onError !== null) server.on("error", onError);
  await server.listen();
  open.servers.push(server);
  return server;
}

async function echoes(client: RudpConnection, payloads: number[]): Promise<number[]> {
  const got: number[] = [];
  client.on("message", (_c, data) => got.push(data[0]));
  for (const p of payloads) expect(client.send(0, new Uint8Array([p, 1, 2, 3]))).toBe(true);
  await waitFor(`${payloads.filter((p) => p !== 0xee).length} echoes`, () => got.length === payloads.filter((p) => p !== 0xee).length);
  return got;
}

test("a throwing message or connection handler becomes an 'error' event; every connection is still served", async () => {
  const errors: string[] = [];
  const server = await throwingServer((error) => errors.push((error as Error).message));
  const first = await connect("127.0.0.1", server.address.port, { driver: "fallback" });
  open.clients.push(first);
  expect(await echoes(first, [1, 0xee, 2, 3])).toEqual([1, 2, 3]); // the same connection goes on
  const second = await connect("127.0.0.1", server.address.port, { driver: "fallback" }); // its handler throws
  const third = await connect("127.0.0.1", server.address.port, { driver: "fallback" });
  open.clients.push(second, third);
  expect(await echoes(third, [7, 8])).toEqual([7, 8]);
  expect(await echoes(first, [4])).toEqual([4]);
  await waitFor("both errors reported", () => errors.length === 2);
  expect(errors.sort()).toEqual(["connection handler bug", "message handler bug"]);
  expect(server.endpoint!.applicationErrors).toBe(2);
});

test("without an 'error' listener the error is logged and the server keeps serving", async () => {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.join(" "));
  try {
    const server = await throwingServer(null);
    const client = await connect("127.0.0.1", server.address.port, { driver: "fallback" });
    open.clients.push(client);
    expect(await echoes(client, [0xee, 5])).toEqual([5]);
    await waitFor("one log line", () => logged.length === 1);
    expect(logged[0]).toContain('a "message" handler threw');
    expect(logged[0]).toContain("message handler bug");
  } finally {
    console.error = original;
  }
});
