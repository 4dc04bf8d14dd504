// Round-trip latency of one bun-rudp connection, ping-pong (one message in flight), server
// and client in one process, for each driver; 64-byte messages, 1 ms between round trips.
// Reports HDR percentiles in microseconds. `./scripts/bun bench/pingpong.bench.ts [native|fallback]`
import { connect, createServer } from "../src/index.ts";
import { createHistogram, summarize } from "../src/metrics/histogram.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

const ROUND_TRIPS = 3000;
const GAP_MS = 1;

async function measure(driver: "native" | "fallback"): Promise<void> {
  const server = createServer({ port: 0, driver });
  server.on("connection", (c) => c.on("message", (channel, data) => c.send(channel, data)));
  await server.listen();
  const client = await connect("127.0.0.1", server.address.port, { driver });
  const histogram = createHistogram();
  const message = new Uint8Array(64);
  let sentAtMs = 0;
  let count = 0;
  const send = () => {
    sentAtMs = performance.now();
    client.send(0, message);
  };
  await new Promise<void>((resolve) => {
    client.on("message", () => {
      histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAtMs) * 1000)));
      if (++count >= ROUND_TRIPS) return resolve();
      setTimeout(send, GAP_MS);
    });
    send();
  });
  const s = summarize(histogram);
  console.log(`${driver.padEnd(8)} round trips ${s.count}  p50 ${s.p50} us  p90 ${s.p90} us  p99 ${s.p99} us  p99.9 ${s.p999} us  max ${s.max} us`);
  await client.close();
  await server.close();
}

const only = process.argv[2];
if (only === "native" || only === "fallback") {
  await measure(only);
  process.exit(0);
}
// Each driver in its own process, so one's threads and JIT state do not colour the other.
for (const driver of ["native", "fallback"]) {
  Bun.spawnSync([process.execPath, import.meta.path, driver], { stdout: "inherit", stderr: "inherit" });
}
