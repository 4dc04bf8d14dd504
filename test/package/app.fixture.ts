// The application test/package/package.test.ts installs bun-rudp into: a fresh `bun init`
// app's index.ts. It serves and connects through the installed package and prints one JSON
// line saying which driver and which native library each side used, and what came back.
import { connect, createServer, nativeStatus, RudpError, type RudpConnection } from "bun-rudp";

const MESSAGES = 50;
const server = createServer({ port: Number(process.argv[2] ?? 0), channelModes: { 1: "unreliable-sequenced" } });
server.on("connection", (connection: RudpConnection) => {
  connection.on("message", (channel, data) => connection.send(channel, data));
});
const address = await server.listen();

const client = await connect("127.0.0.1", address.port);
const echoed: string[] = [];
const done = new Promise<void>((resolve) => {
  client.on("message", (channel, data) => {
    if (channel === 0) echoed.push(new TextDecoder().decode(data));
    if (echoed.length === MESSAGES) resolve();
  });
});
for (let index = 0; index < MESSAGES; index++) client.send(0, new TextEncoder().encode(`message ${index}`));
const timeout = setTimeout(() => {
  console.error(`only ${echoed.length} of ${MESSAGES} echoes within 5 s`);
  process.exit(1);
}, 5000);
await done;
clearTimeout(timeout);

const status = nativeStatus();
console.log(JSON.stringify({
  serverDriver: server.driver,
  clientDriver: client.driver,
  library: { available: status.available, origin: status.origin, path: status.path, reason: status.reason },
  echoed: echoed.length,
  inOrder: echoed.every((text, index) => text === `message ${index}`),
  errorClass: new RudpError("ERR_INVALID_OPTION", "check").name,
}));
await client.close();
await server.close();
