// Soak, CI form: 60 s of echo load (2000 messages/s over 8 connections) through the
// impairment proxy with 1% loss each way, against the real server process. Pass: no upward
// RSS trend over the second half (fitted slope under the bound), no second without delivery,
// no connection lost. Full form (1 h): see bench/REPORT-hardening.md.
import { expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSoak } from "../../tools/soak/run.ts";

const SOAK_SECONDS = Number(process.env.HARDENING_SOAK_SECONDS ?? 60);

test(`soak: ${SOAK_SECONDS} s at 2000 msg/s through 1% loss, flat RSS, no stall`, async () => {
  const result = await runSoak({
    seconds: SOAK_SECONDS,
    ratePerSecond: 2000,
    connections: 8,
    lossRate: 0.01,
    messageBytes: 64,
    seed: Number(process.env.HARDENING_SEED ?? 1),
    outDir: join(tmpdir(), `rudp-soak-ci-${process.pid}`),
    driver: "auto",
    log: () => {},
  });
  const rss = result.samples.map((s) => s.rssBytes / 2 ** 20);
  const p99 = result.samples.map((s) => s.appRttP99Ms).filter(Number.isFinite);
  console.log(
    `[soak] ${result.samples.length} s: sent ${result.sentTotal}, delivered ${result.deliveredTotal}, refused ${result.refusedTotal}; ` +
      `proxy lost ${result.proxy.clientToServerLost} up / ${result.proxy.serverToClientLost} down; ` +
      `RSS ${rss[0]?.toFixed(1)} -> ${rss.at(-1)?.toFixed(1)} MiB (min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}), ` +
      `second-half slope ${(result.rssSlopeBytesPerSecond / 1024).toFixed(2)} KiB/s (bound ${(result.rssSlopeBytesPerSecondMax / 1024).toFixed(1)}), JS heap slope ${(result.heapSlopeBytesPerSecond / 1024).toFixed(2)} KiB/s (bound ${(result.heapSlopeBytesPerSecondMax / 1024).toFixed(1)}); ` +
      `app p99 RTT per second: median ${p99.sort((a, b) => a - b)[Math.floor(p99.length / 2)]?.toFixed(2)} ms, worst ${p99.at(-1)?.toFixed(2)} ms; ` +
      `stalled seconds ${JSON.stringify(result.stalledSeconds)}, load generator frozen in ${JSON.stringify(result.loadGeneratorFrozenSeconds)}; files ${result.files.join(" ")}`,
  );
  expect(result.failures).toEqual([]);
  expect(result.pass).toBe(true);
  expect(result.samples.length).toBe(SOAK_SECONDS);
  // A frozen load generator excuses a second, not the run.
  expect(result.loadGeneratorFrozenSeconds.length).toBeLessThanOrEqual(SOAK_SECONDS / 10);
  // The load really ran at the rate, and losses were really injected and repaired.
  expect(result.sentTotal).toBeGreaterThan(0.9 * 2000 * SOAK_SECONDS);
  expect(result.deliveredTotal).toBeGreaterThan(0.99 * result.sentTotal);
  expect(result.proxy.clientToServerLost + result.proxy.serverToClientLost).toBeGreaterThan(0);
}, 90_000);
