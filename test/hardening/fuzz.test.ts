// Fuzzing, short forms for CI (long forms: tools/fuzz/*.ts, commands in bench/REPORT-hardening.md).
// 1. In-process: mutated datagrams straight into both engines, live connection state, virtual time.
// 2. Over UDP: 200k malformed and mutated datagrams at the real server process while a normal
//    client keeps exchanging echoes; no crash, bounded RSS, every drop counted by reason.
import { expect, test } from "bun:test";
import { freePort, startServerProcess } from "../support/serverProcess.ts";
import { runEngineFuzz } from "../../tools/fuzz/engineFuzz.ts";
import { defaultServerFuzzOptions, runServerFuzz } from "../../tools/fuzz/serverFuzz.ts";
import { MIB, mib } from "./support/serverStats.ts";

const SEED = Number(process.env.HARDENING_SEED ?? 1);
const ENGINE_ITERATIONS = 1_000_000;
const SERVER_DATAGRAMS = 200_000;
const SERVER_RATE_PER_SECOND = 40_000;
const RSS_GROWTH_BYTES_MAX = 64 * MIB;
const ECHO_GAP_MS_MAX = 3000;

test(`engine fuzz: ${ENGINE_ITERATIONS} mutated datagrams into live server and client engines, no throw, no internal error`, () => {
  const result = runEngineFuzz({ iterations: ENGINE_ITERATIONS, seed: SEED, secondsMax: 20, refreshEvery: 20_000 });
  console.log(
    `[engine fuzz] seed ${result.seed}: ${result.iterations} datagrams in ${result.seconds.toFixed(2)} s = ${result.iterationsPerSecond}/s ` +
      `from ${result.seedDatagrams} seed datagrams over ${result.refreshes + 1} engine pairs; server drops ${JSON.stringify(result.serverDrops)}`,
  );
  if (result.findings.length > 0) console.log(`[engine fuzz] first finding: ${JSON.stringify(result.findings[0])}`);
  expect(result.iterations).toBe(ENGINE_ITERATIONS);
  expect(result.findings).toEqual([]);
  expect(result.internalErrors).toBe(0);
}, 30_000);

test(`server fuzz over UDP: ${SERVER_DATAGRAMS} datagrams at the server process, a normal client keeps its echoes`, async () => {
  const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort())]);
  try {
    const result = await runServerFuzz({
      ...defaultServerFuzzOptions,
      port: server.udpPort,
      metricsUrl: server.metricsUrl,
      datagrams: SERVER_DATAGRAMS,
      ratePerSecond: SERVER_RATE_PER_SECOND,
      secondsMax: 25,
      seed: SEED,
    });
    const s = result.server!;
    const dropped = (reason: string) => s.drops[reason] ?? 0;
    console.log(
      `[server fuzz] seed ${result.seed}: ${result.datagramsSent} sent (${result.unsealedSent} unsealed, ${result.sealedSent} resealed/valid) in ${result.seconds.toFixed(2)} s = ${result.datagramsPerSecond}/s, ` +
        `${result.rawConnections} raw connections; server: arrived ${s.arrived}, dropped ${s.dropsTotal}, accepted ${s.accepted}; drops ${JSON.stringify(s.drops)}; ` +
        `RSS ${mib(s.rssBeforeBytes)} -> max ${mib(s.rssMaxBytes)} -> ${mib(s.rssAfterBytes)} MiB; probe ${result.client.echoed}/${result.client.sent} echoes (${result.client.duplicates} duplicated, ${result.client.outOfOrder} out of order), longest gap ${result.client.maxEchoGapMs} ms (fuzzer loop lag ${result.client.maxTickGapMs} ms; probe connection ${JSON.stringify(result.client.connection)})`,
    );
    // No crash, no unhandled exception, no engine bug.
    expect(server.process.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/Unhandled|RudpError|TypeError|RangeError|"level":50/);
    expect(dropped("internal-error")).toBe(0);
    // Every datagram accounted for: nearly all arrived; what arrived was dropped by a named
    // reason or taken by the engine; and no more was taken than could be valid (resealed
    // mutations, the probe's traffic, the raw handshakes).
    expect(result.datagramsSent).toBe(SERVER_DATAGRAMS);
    expect(s.arrived).toBeGreaterThanOrEqual(0.95 * result.datagramsSent);
    expect(s.dropsTotal).toBeLessThanOrEqual(s.arrived);
    expect(s.accepted).toBeLessThanOrEqual(result.sealedSent + 3 * result.client.sent + 6 * result.rawConnections);
    // Unsealed mutations can only be dropped (checksum, or too short to carry one).
    expect(dropped("checksum") + dropped("truncated")).toBeGreaterThanOrEqual(0.95 * result.unsealedSent);
    // Bounded memory.
    expect(s.rssMaxBytes - s.rssBeforeBytes).toBeLessThan(RSS_GROWTH_BYTES_MAX);
    // The normal client kept exchanging messages throughout.
    expect(result.client.sent).toBeGreaterThan(100);
    expect(result.client.echoed).toBe(result.client.sent);
    expect(result.client.duplicates).toBe(0);
    expect(result.client.outOfOrder).toBe(0);
    // No stall: on this shared 2-core machine the fuzzer's own loop lags ~100-250 ms under
    // load and a probe packet lost in the flooded socket waits for its retransmission.
    expect(result.client.maxEchoGapMs).toBeLessThan(ECHO_GAP_MS_MAX);
  } finally {
    await server.stop("SIGKILL");
  }
}, 40_000);
