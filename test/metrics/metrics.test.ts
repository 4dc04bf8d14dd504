// bun-rudp/metrics mounted on an application's own Bun.serve: a registry with an aggregatable
// RTT histogram and prom-client's default metrics, /stats, the history a dashboard starts with,
// the dashboard under a base path, and requests it does not serve left to the app.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type RudpConnection, type RudpServer } from "../../src/index.ts";
import { createMetrics, RTT_MEANING, type RudpMetrics, type StatsSnapshot } from "../../src/metrics/index.ts";
import { sumRttBuckets } from "../../src/metrics/rttBuckets.ts";
import { waitFor } from "../integration/drivers.ts";

const MESSAGES = 300;
let server: RudpServer;
let metrics: RudpMetrics;
let http: ReturnType<typeof Bun.serve>;
let client: RudpConnection;
let base = "";

beforeAll(async () => {
  server = createServer({ host: "127.0.0.1", port: 0 });
  metrics = createMetrics(server, { basePath: "/rudp" });
  server.on("connection", (connection) => connection.on("message", (channel, data) => connection.send(channel, data)));
  await server.listen();
  http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => metrics.handle(request) ?? new Response("the app's own page", { status: 200 }),
  });
  base = `http://127.0.0.1:${http.port}`;
  client = await connect("127.0.0.1", server.address.port);
  let echoes = 0;
  client.on("message", () => echoes++);
  for (let index = 0; index < MESSAGES; index++) client.send(0, new Uint8Array(100));
  await waitFor(`${MESSAGES} echoes`, () => echoes === MESSAGES);
});

afterAll(async () => {
  await client?.close({ graceful: false });
  metrics?.stop();
  await http?.stop(true);
  await server?.close(500);
});

/** `name{labels} value` lines of one metric family. */
function samples(text: string, name: string): { labels: string; value: number }[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const match = /^[^{ ]+(\{[^}]*\})? (\S+)$/.exec(line)!;
      return { labels: match[1] ?? "", value: Number(match[2]) };
    });
}

describe("bun-rudp/metrics on the app's Bun.serve", () => {
  test("/metrics: RTT is a histogram (cumulative buckets, +Inf = count) whose HELP says it includes the peer's ACK delay", async () => {
    const response = await fetch(`${base}/rudp/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toContain("# TYPE rudp_rtt_seconds histogram");
    expect(text).toContain(`# HELP rudp_rtt_seconds Transport round-trip time samples since start, all connections. ${RTT_MEANING}`);
    expect(RTT_MEANING).toContain("peer's ACK delay");
    const buckets = samples(text, "rudp_rtt_seconds_bucket");
    expect(buckets.length).toBeGreaterThan(5);
    for (let index = 1; index < buckets.length; index++) expect(buckets[index]!.value).toBeGreaterThanOrEqual(buckets[index - 1]!.value);
    const count = samples(text, "rudp_rtt_seconds_count")[0]!.value;
    expect(count).toBeGreaterThan(0);
    expect(buckets.at(-1)).toEqual({ labels: '{le="+Inf"}', value: count });
    expect(samples(text, "rudp_rtt_seconds_sum")[0]!.value).toBeGreaterThan(0);
    expect(samples(text, "rudp_messages_total").find((s) => s.labels.includes("received"))!.value).toBeGreaterThanOrEqual(MESSAGES);
  });

  test("/metrics: prom-client's default process metrics and event-loop lag", async () => {
    const text = await (await fetch(`${base}/rudp/metrics`)).text();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_eventloop_lag_p99_seconds"]) {
      expect(samples(text, name).length).toBe(1);
    }
    expect(samples(text, "process_resident_memory_bytes")[0]!.value).toBeGreaterThan(1 << 20);
  });

  const promtool = Bun.which("promtool");
  if (!promtool) console.log("promtool check skipped: promtool is not installed (test/cli installs it)");
  test.skipIf(!promtool)("/metrics passes promtool check metrics (skipped without promtool)", async () => {
    const text = await (await fetch(`${base}/rudp/metrics`)).text();
    const check = Bun.spawnSync([promtool!, "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    expect(check.stderr.toString() + check.stdout.toString()).toBe("");
    expect(check.exitCode).toBe(0);
  });

  test("/stats is this server's snapshot; /stats/history holds one snapshot a second", async () => {
    const stats = (await (await fetch(`${base}/rudp/stats`)).json()) as StatsSnapshot;
    expect(stats.listen.port).toBe(server.address.port);
    expect(stats.connections.active).toBe(1);
    expect(stats.rttBucketsSinceStart.count).toBe(stats.rttUsSinceStart.count);
    await Bun.sleep(2300);
    const history = (await (await fetch(`${base}/rudp/stats/history`)).json()) as StatsSnapshot[];
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(history.at(-1)!.timestampMs).toBeGreaterThan(history[0]!.timestampMs);
    expect(history.at(-1)!.messages.received.total).toBeGreaterThanOrEqual(MESSAGES);
  });

  test("the dashboard is served under the base path and points its links there", async () => {
    const page = await (await fetch(`${base}/rudp/dashboard`)).text();
    expect(page).toContain('<meta name="rudp-base" content="/rudp">');
    expect(page).toContain('src="/rudp/dashboard/dashboard.js"');
    expect(page).toContain("includes the peer's ACK delay");
    for (const asset of ["dashboard.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.min.css"]) {
      const response = await fetch(`${base}/rudp/dashboard/${asset}`);
      expect(response.status).toBe(200);
      expect((await response.text()).length).toBeGreaterThan(100);
    }
    // Only the named assets: anything else under the dashboard path is a 404 that lists the routes.
    const unknown = await fetch(`${base}/rudp/dashboard/..%2F..%2Fpackage.json`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("/metrics (Prometheus)");
  });

  test("requests outside its routes are the app's: the handler returns undefined", async () => {
    for (const path of ["/", "/metrics", "/rudp", "/rudpx/metrics", "/other"]) {
      const response = await fetch(`${base}${path}`);
      expect(await response.text()).toBe("the app's own page");
    }
    expect(metrics.handle(new Request(`${base}/elsewhere`))).toBeUndefined();
  });

  test("RTT buckets of several servers sum (what Prometheus aggregates across instances)", () => {
    const one = metrics.snapshot().rttBucketsSinceStart;
    const summed = sumRttBuckets([one, one]);
    expect(summed.count).toBe(2 * one.count);
    expect(summed.counts.reduce((a, b) => a + b, 0)).toBe(2 * one.count);
  });

  test("a bad basePath is a clear error", () => {
    expect(() => createMetrics(server, { basePath: "rudp", defaultMetrics: false })).toThrow(/basePath must start with "\/"/);
  });
});

test("import \"bun-rudp\" loads none of the metrics dependencies (they are behind bun-rudp/metrics)", async () => {
  const build = await Bun.build({ entrypoints: [`${import.meta.dir}/../../src/index.ts`], target: "bun", packages: "external", external: ["*.so"] });
  expect(build.success).toBe(true);
  const text = await build.outputs[0]!.text();
  for (const name of ["prom-client", "hdr-histogram-js", "uplot", "pino"]) expect(text).not.toContain(`"${name}`);
});
