// The application test/package/package.test.ts installs bun-rudp into: a fresh `bun init`
// app's index.ts. It serves and connects through the installed package and prints one JSON
// line saying which driver and which native library each side used, what came back, and what
// bun-rudp/metrics, mounted on the app's own Bun.serve, served.
import { connect, createServer, nativeStatus, RudpError, type RudpConnection } from "bun-rudp";
import { createMetrics, type StatsSnapshot } from "bun-rudp/metrics";

const MESSAGES = 50;
const server = createServer({ port: Number(process.argv[2] ?? 0), channelModes: { 1: "unreliable-sequenced" } });
server.on("connection", (connection: RudpConnection) => {
  connection.on("message", (channel, data) => connection.send(channel, data));
});
const metrics = createMetrics(server, { basePath: "/rudp" });
const address = await server.listen();
const http = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request) => metrics.handle(request) ?? new Response("the app's page"),
});

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

const metricsUrl = `http://127.0.0.1:${http.port}/rudp`;
const prometheusText = await (await fetch(`${metricsUrl}/metrics`)).text();
const stats = (await (await fetch(`${metricsUrl}/stats`)).json()) as StatsSnapshot;
const dashboard = await fetch(`${metricsUrl}/dashboard`);
const uplot = await fetch(`${metricsUrl}/dashboard/uPlot.iife.min.js`);
const metricsReport = {
  rttHistogram: prometheusText.includes("# TYPE rudp_rtt_seconds histogram"),
  eventLoopLag: prometheusText.includes("nodejs_eventloop_lag_seconds"),
  statsMessagesReceived: stats.messages.received.total,
  dashboardStatus: dashboard.status,
  dashboardHasBase: (await dashboard.text()).includes('content="/rudp"'),
  uplotBytes: (await uplot.arrayBuffer()).byteLength,
  appRoute: await (await fetch(`http://127.0.0.1:${http.port}/`)).text(),
};

const status = nativeStatus();
console.log(JSON.stringify({
  serverDriver: server.driver,
  clientDriver: client.driver,
  library: { available: status.available, origin: status.origin, path: status.path, reason: status.reason },
  echoed: echoed.length,
  inOrder: echoed.every((text, index) => text === `message ${index}`),
  errorClass: new RudpError("ERR_INVALID_OPTION", "check").name,
  metrics: metricsReport,
}));
metrics.stop();
await http.stop(true);
await client.close();
await server.close();
