// Window evolution of each congestion controller on scripted ACK / loss sequences, and the
// pacer's token bucket.
import { describe, expect, test } from "bun:test";
import { BbrController } from "../../src/protocol/congestion/bbr.ts";
import { CubicController } from "../../src/protocol/congestion/cubic.ts";
import { createController } from "../../src/protocol/congestion/factory.ts";
import { NewRenoController } from "../../src/protocol/congestion/newReno.ts";
import { Pacer, SEND_QUANTUM_PACKETS_MIN, sendQuantumBytes } from "../../src/protocol/congestion/pacer.ts";
import { RttEstimator } from "../../src/protocol/recovery/rtt.ts";
import { Pair } from "./pair.ts";

const MSS = 1200;
function rttOf(us: number): RttEstimator {
  const rtt = new RttEstimator();
  rtt.update(us, 0);
  return rtt;
}

describe("NewReno (RFC 9002 §7)", () => {
  test("slow start, halving once per recovery period, then +1 MSS per window", () => {
    const cc = new NewRenoController(MSS);
    const rtt = rttOf(10_000);
    expect(cc.windowBytes).toBe(12_000); // min(10 MSS, max(14720, 2 MSS))
    for (let i = 0; i < 10; i++) cc.onPacketAcked(1_000, MSS, 0, rtt);
    expect(cc.windowBytes).toBe(24_000); // doubled in one round
    cc.onPacketLost(2_000, MSS, 1_500, rtt);
    expect(cc.windowBytes).toBe(12_000);
    cc.onPacketLost(2_100, MSS, 1_600, rtt); // sent before recovery started: ignored
    expect(cc.windowBytes).toBe(12_000);
    cc.onPacketAcked(2_200, MSS, 1_900, rtt); // in recovery: no growth
    expect(cc.windowBytes).toBe(12_000);
    for (let i = 0; i < 10; i++) cc.onPacketAcked(3_000, MSS, 2_500, rtt); // one window of ACKs
    expect(cc.windowBytes).toBe(13_200);
    cc.onPersistentCongestion(4_000);
    expect(cc.windowBytes).toBe(2 * MSS);
  });
});

describe("CUBIC (RFC 9438)", () => {
  function congestionAvoidance(cc: CubicController, rtt: RttEstimator, rttUs: number, rounds: number, startUs: number): number[] {
    let nowUs = startUs;
    const windows: number[] = [];
    for (let round = 0; round < rounds; round++) {
      nowUs += rttUs;
      const perRound = Math.ceil(cc.windowBytes / MSS);
      for (let i = 0; i < perRound; i++) cc.onPacketAcked(nowUs, MSS, nowUs - rttUs, rtt);
      windows.push(cc.windowBytes / MSS);
    }
    return windows;
  }

  test("beta 0.7 on loss, concave regrowth to a plateau at W_max around K, then convex", () => {
    const cc = new CubicController(MSS);
    const rtt = rttOf(100_000);
    for (let i = 0; i < 990; i++) cc.onPacketAcked(1_000, MSS, 0, rtt); // slow start to 1000 MSS
    expect(cc.windowBytes).toBe(1000 * MSS);
    cc.onPacketLost(10_000, MSS, 5_000, rtt);
    expect(cc.windowBytes).toBeCloseTo(700 * MSS, 6);
    expect(cc.windowMaxBytes).toBe(1000 * MSS);
    const w = congestionAvoidance(cc, rtt, 100_000, 140, 10_000);
    // K = cbrt(W_max (1 - beta) / C) seconds = cbrt(750) = 9.09 s = ~91 rounds of 100 ms.
    expect(cc.kSeconds).toBeCloseTo(Math.cbrt((1000 * 0.3) / 0.4), 6);
    const k = Math.round((cc.kSeconds * 1e6) / 100_000);
    expect(w[k]).toBeGreaterThan(990);
    expect(w[k]).toBeLessThan(1010);
    const early = w[10] - w[0];
    const plateau = w[k + 3] - w[k - 3];
    const late = w[k + 40] - w[k + 34];
    expect(early).toBeGreaterThan(plateau);
    expect(late).toBeGreaterThan(plateau);
  });

  test("at short RTTs the Reno-friendly estimate governs: about 0.53 MSS per round", () => {
    const cc = new CubicController(MSS);
    const rtt = rttOf(20_000);
    for (let i = 0; i < 90; i++) cc.onPacketAcked(1_000, MSS, 0, rtt);
    cc.onPacketLost(10_000, MSS, 5_000, rtt);
    const w = congestionAvoidance(cc, rtt, 20_000, 100, 10_000);
    const perRound = (w[99] - w[9]) / 90;
    expect(perRound).toBeGreaterThan(0.45);
    expect(perRound).toBeLessThan(0.6);
  });

  test("fast convergence lowers W_max when losses come below the previous maximum", () => {
    const cc = new CubicController(MSS);
    const rtt = rttOf(20_000);
    cc.onPacketLost(1_000, MSS, 500, rtt); // W_max = 10 MSS
    cc.onPacketLost(2_000, MSS, 1_500, rtt); // 7 MSS < W_max: W_max = 7 * 1.7 / 2
    expect(cc.windowMaxBytes).toBeCloseTo((7 * MSS * 1.7) / 2, 6);
  });
});

describe("adaptive", () => {
  test("is BBR under its old name: random loss below the threshold is not congestion (see bbr.ts)", () => {
    const cc = createController("adaptive", MSS);
    expect(cc).toBeInstanceOf(BbrController);
    expect(cc.name).toBe("adaptive");
    const rtt = rttOf(10_000);
    for (let i = 0; i < 30; i++) {
      cc.onPacketSent(0, MSS, MSS);
      cc.onPacketAcked(1_000, MSS, 0, rtt);
    }
    const before = cc.windowBytes;
    cc.onPacketSent(1_500, MSS, MSS);
    cc.onPacketLost(2_000, MSS, 1_500, rtt);
    expect(cc.windowBytes).toBe(before);
  });
});

describe("pacer", () => {
  test("bursts the send quantum (at least 2 datagrams), then spreads packets at 1.25 x window / RTT", () => {
    const pacer = new Pacer(MSS);
    pacer.setRate(100 * MSS, 100_000); // 1.25 * 120000 B / 100 ms = 1.5 B/us: 2 ms carry 3000 B
    let sentAtOnce = 0;
    while (pacer.delayUntilUs(0, MSS) === 0 && sentAtOnce < 100) {
      pacer.onPacketSent(0, MSS);
      sentAtOnce++;
    }
    expect(sentAtOnce).toBe(SEND_QUANTUM_PACKETS_MIN);
    const next = pacer.delayUntilUs(0, MSS);
    expect(next).toBe(800); // 1200 B at 1.5 B/us
    expect(pacer.delayUntilUs(800, MSS)).toBe(0);
  });

  test("the quantum is what the rate carries in 2 ms, in whole GSO runs", () => {
    expect(sendQuantumBytes(100, MSS)).toBe(128 * MSS); // 200,000 B = 166 datagrams -> 2 runs of 64
    expect(sendQuantumBytes(30, MSS)).toBe(50 * MSS); // 60,000 B: under one run, whole datagrams
    expect(sendQuantumBytes(0.001, MSS)).toBe(SEND_QUANTUM_PACKETS_MIN * MSS);
    expect(sendQuantumBytes(NaN, MSS)).toBe(SEND_QUANTUM_PACKETS_MIN * MSS);
  });

  test("one transmit pass with one now releases exactly the datagrams whose departure time came", () => {
    const pacer = new Pacer(MSS);
    pacer.setRateBytesPerUs(12); // 10 datagrams per ms; quantum 20 datagrams
    const sendAll = (nowUs: number) => {
      let sent = 0;
      while (pacer.delayUntilUs(nowUs, MSS) === 0 && sent < 1000) {
        pacer.onPacketSent(nowUs, MSS);
        sent++;
      }
      return sent;
    };
    expect(sendAll(0)).toBe(20); // the quantum after a pause
    expect(sendAll(1_000)).toBe(10); // 1 ms later: what 1 ms carries, not a bucket's capacity
    expect(sendAll(1_500)).toBe(5);
    expect(sendAll(100_000)).toBe(20); // a long pause earns one quantum, not more
    const deadline = pacer.delayUntilUs(100_000, MSS);
    expect(deadline).toBeCloseTo(100_100, 6);
  });

  test("a connection reports its pacing deadline through pollTimeout", () => {
    const pair = new Pair({}, { congestionControl: "newreno" }, 3);
    pair.oneWayDelayUs = 20_000;
    const client = pair.connect();
    pair.drive(200_000);
    // Grow the window well past the pacer's quantum, then let everything settle.
    for (let i = 0; i < 400; i++) pair.client.send(client, 0, new Uint8Array(1100));
    pair.drive(3_000_000);
    const stats = pair.client.connectionStats(client)!;
    const windowPackets = stats.congestionWindowBytes / 1200;
    expect(windowPackets).toBeGreaterThan(40);
    const quantumPackets = sendQuantumBytes((1.25 * stats.congestionWindowBytes) / stats.rttSmoothedUs, 1200) / 1200;
    for (let i = 0; i < 100; i++) pair.client.send(client, 0, new Uint8Array(1100));
    const sentBefore = pair.sentCount.toServer;
    pair.flush();
    const burst = pair.sentCount.toServer - sentBefore;
    // What 2 ms of 1.25 x window / RTT carry (and an ACK-only datagram), though the window allows more.
    expect(quantumPackets).toBeLessThan(windowPackets / 4);
    expect(burst).toBeGreaterThanOrEqual(quantumPackets);
    expect(burst).toBeLessThanOrEqual(quantumPackets + 1);
    const deadline = pair.client.pollTimeout();
    expect(deadline).toBeGreaterThan(pair.nowUs);
    expect(deadline).toBeLessThan(pair.nowUs + 2_000); // the next departure, long before any ACK
  });
});

test("controllers are selectable by name, per endpoint and per connection", () => {
  expect(createController("newreno", MSS).name).toBe("newreno");
  expect(createController("cubic", MSS).name).toBe("cubic");
  expect(createController("adaptive", MSS).name).toBe("adaptive");
  const pair = new Pair({ congestionControl: "adaptive" }, { congestionControl: "newreno" }, 4);
  const viaDefault = pair.connect();
  const perConnection = pair.client.connect(pair.nowUs, pair.serverAddress, { congestionControl: "adaptive" });
  pair.drive(500_000);
  expect(pair.client.connectionStats(viaDefault)!.congestionControl).toBe("newreno");
  expect(pair.client.connectionStats(perConnection)!.congestionControl).toBe("adaptive");
  const serverSide = pair.serverEvents.filter((e) => e.type === "connected").map((e) => pair.server.connectionStats(e.connection)!.congestionControl);
  expect(serverSide).toEqual(["adaptive", "adaptive"]);
});

test("a spurious loss undoes the last window reduction (each loss-based controller; bbr: test/protocol/bbr.test.ts)", () => {
  const rtt = rttOf(10_000);
  for (const name of ["newreno", "cubic"] as const) {
    const cc = createController(name, MSS);
    for (let i = 0; i < 30; i++) {
      cc.onPacketSent(0, MSS, MSS);
      cc.onPacketAcked(1_000, MSS, 0, rtt);
    }
    const before = cc.windowBytes;
    cc.onPacketSent(1_500, MSS, MSS);
    cc.onPacketLost(2_000, MSS, 1_500, rtt);
    expect(cc.windowBytes).toBeLessThan(before);
    cc.undoReduction();
    expect(cc.windowBytes).toBe(before);
    cc.undoReduction(); // only once
    expect(cc.windowBytes).toBe(before);
  }
});
