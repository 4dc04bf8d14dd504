// Coordinated-omission correction: a stalled sender still reports the latency its late
// messages suffered, because latency is counted from the intended send time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OpenLoopScheduler } from "../../bench/loadgen/openLoopScheduler.ts";
import * as hdr from "hdr-histogram-js";
import { runWorkload } from "../../bench/loadgen/workload.ts";
import { launchServer, type LaunchedServer } from "../../bench/loadgen/serverLauncher.ts";

describe("OpenLoopScheduler", () => {
  test("messages are due on a fixed schedule whatever the sender did", () => {
    const scheduler = new OpenLoopScheduler(1000, 0, 1000); // one message per ms
    expect(scheduler.dueCount(0, 100)).toBe(1);
    expect(scheduler.take()).toBe(0);
    expect(scheduler.dueCount(500, 100)).toBe(0);
    expect(scheduler.nextDueUs()).toBe(1000);
  });

  test("after a stall every missed message is due, each with its own intended time", () => {
    const scheduler = new OpenLoopScheduler(1000, 0, 1000);
    const stallEndUs = 100_000; // the sender wakes up 100 ms late
    const due = scheduler.dueCount(stallEndUs, 10_000);
    expect(due).toBe(101);
    const histogram = hdr.build();
    for (let i = 0; i < due; i++) histogram.recordValue(stallEndUs - scheduler.take()); // delivered at once
    expect(histogram.maxValue).toBeGreaterThanOrEqual(99_900);
    expect(histogram.getValueAtPercentile(50)).toBeGreaterThan(45_000);
  });

  test("the schedule ends after totalMessages and caps a batch", () => {
    const scheduler = new OpenLoopScheduler(1_000_000, 0, 10);
    expect(scheduler.dueCount(1_000_000, 4)).toBe(4);
    for (let i = 0; i < 10; i++) scheduler.take();
    expect(scheduler.finished).toBe(true);
    expect(scheduler.nextDueUs()).toBe(Infinity);
  });
});

describe("runWorkload against the UDP peer", () => {
  let server: LaunchedServer;
  beforeAll(async () => {
    server = await launchServer("udp", "127.0.0.1", 1);
  });
  afterAll(async () => {
    await server.stop();
  });

  test("a 150 ms event-loop stall shows in the intended-send latency, not in the actual-send one", async () => {
    // Block this process's event loop for 150 ms in the middle of a 1 s run at 2000 msg/s.
    const stallTimer = setTimeout(() => {
      const until = performance.now() + 150;
      while (performance.now() < until) {}
    }, 400);
    const result = await runWorkload(
      {
        system: "udp",
        host: server.host,
        port: server.port,
        connections: 4,
        firstConnection: 0,
        ratePerSecond: 2000,
        sizeBytes: 64,
        durationSeconds: 1,
        drainSeconds: 1,
        mode: "unreliable",
        connectConcurrency: 4,
        pacing: "timer",
      },
      () => {},
    );
    clearTimeout(stallTimer);
    expect(result.sent).toBeGreaterThan(1900);
    // Raw UDP may drop some of the burst sent after the stall on a busy machine.
    expect(result.received).toBeGreaterThan(1000);
    const rtt = hdr.decodeFromCompressedBase64(result.rttHistogramBase64!);
    const service = hdr.decodeFromCompressedBase64(result.serviceHistogramBase64!);
    // ~300 messages were due during the stall: their latency counts from when they were due.
    expect(rtt.maxValue).toBeGreaterThan(140_000);
    expect(rtt.getValueAtPercentile(90)).toBeGreaterThan(20_000);
    // Sent after the stall, they crossed the network quickly: the uncorrected view hides it.
    expect(service.getValueAtPercentile(90)).toBeLessThan(rtt.getValueAtPercentile(90));
  }, 20_000);
});
