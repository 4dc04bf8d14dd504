// Unit tests of RTT estimation (RFC 9002 §5), received ranges, loss detection (packet and
// time thresholds, RFC 9002 §6) and the PTO with backoff.
import { describe, expect, test } from "bun:test";
import { ReceivedRanges, ReceiveVerdict } from "../../src/protocol/recovery/ackRanges.ts";
import { AckVerdict, LossDetection, type RecoveryHost } from "../../src/protocol/recovery/lossDetection.ts";
import { PACKET_THRESHOLD, ReorderingWindow } from "../../src/protocol/recovery/reorderingWindow.ts";
import { GRANULARITY_US, INITIAL_RTT_US, RttEstimator } from "../../src/protocol/recovery/rtt.ts";
import { SentFlag, SentPacketRing } from "../../src/protocol/recovery/sentPackets.ts";
import { FrameReader, writeAck } from "../../src/protocol/wire/frames.ts";
import { decodePacketNumber } from "../../src/protocol/wire/packet.ts";

describe("RttEstimator", () => {
  test("first sample initialises, later samples use alpha 1/8 and beta 1/4", () => {
    const rtt = new RttEstimator();
    expect(rtt.smoothedUs).toBe(INITIAL_RTT_US);
    rtt.update(100_000, 0);
    expect([rtt.smoothedUs, rtt.varianceUs, rtt.minUs]).toEqual([100_000, 50_000, 100_000]);
    rtt.update(180_000, 0);
    expect(rtt.varianceUs).toBe(0.75 * 50_000 + 0.25 * 80_000);
    expect(rtt.smoothedUs).toBe(0.875 * 100_000 + 0.125 * 180_000);
    expect(rtt.minUs).toBe(100_000);
  });

  test("ACK delay is subtracted only when the result stays above the minimum", () => {
    const rtt = new RttEstimator();
    rtt.update(100_000, 0);
    rtt.update(130_000, 20_000); // 130k >= 100k + 20k: adjusted to 110k
    expect(rtt.smoothedUs).toBe(0.875 * 100_000 + 0.125 * 110_000);
    const other = new RttEstimator();
    other.update(100_000, 0);
    other.update(105_000, 20_000); // would go below min: not adjusted
    expect(other.smoothedUs).toBe(0.875 * 100_000 + 0.125 * 105_000);
  });

  test("PTO", () => {
    const rtt = new RttEstimator();
    rtt.update(10_000, 0);
    expect(rtt.probeTimeoutUs(2_000)).toBe(10_000 + 4 * 5_000 + 2_000);
  });
});

describe("ReceivedRanges", () => {
  test("merges, detects duplicates, and forgets the oldest beyond capacity", () => {
    const r = new ReceivedRanges(3);
    for (const pn of [0, 1, 2, 5, 6, 4, 10]) {
      expect(r.classify(pn)).toBe(ReceiveVerdict.fresh);
      r.insert(pn);
    }
    expect(Array.from(r.ranges.subarray(0, r.count * 2))).toEqual([10, 10, 6, 4, 2, 0]);
    expect(r.classify(5)).toBe(ReceiveVerdict.duplicate);
    r.insert(3); // joins 4..6 and 0..2
    expect(Array.from(r.ranges.subarray(0, r.count * 2))).toEqual([10, 10, 6, 0]);
    r.insert(20);
    r.insert(30); // a 4th range: the oldest (0..6) is forgotten
    expect(r.count).toBe(3);
    expect(r.classify(3)).toBe(ReceiveVerdict.outOfWindow);
  });

  test("packet numbers decode across the 32-bit wire truncation", () => {
    expect(decodePacketNumber(0xfffffffe, 0x00000001)).toBe(0x100000001);
    expect(decodePacketNumber(0x100000005, 0xfffffff0)).toBe(0xfffffff0);
    expect(decodePacketNumber(-1, 0)).toBe(0);
    expect(decodePacketNumber(2 ** 40 + 7, (2 ** 40 + 9) % 2 ** 32)).toBe(2 ** 40 + 9);
  });
});

class Host implements RecoveryHost {
  acked: number[] = [];
  lost: number[] = [];
  spurious = 0;
  persistent = 0;
  onPersistentCongestion(): void {
    this.persistent++;
  }
  constructor(private readonly sent: SentPacketRing) {}
  onPacketAcked(index: number): void {
    this.acked.push(this.pnOf(index));
  }
  onLostPacketAcked(): void {
    this.spurious++;
  }
  onPacketLost(index: number): void {
    this.lost.push(this.pnOf(index));
  }
  private pnOf(index: number): number {
    return this.sent.firstPn + ((index - this.sent.head) & this.sent.mask);
  }
}

function ackFrame(ranges: number[], delayUs = 0): FrameReader {
  const out = new Uint8Array(1500);
  const end = writeAck(out, 0, new Float64Array(ranges), ranges.length / 2, delayUs, 1500);
  const reader = new FrameReader();
  reader.reset(out, 0, end);
  reader.next();
  return reader;
}

function setup(packets: number, intervalUs = 1_000) {
  const sent = new SentPacketRing(8, 1 << 12);
  const loss = new LossDetection(sent);
  loss.peerMaxAckDelayUs = 2_000;
  const flags = SentFlag.ackEliciting | SentFlag.inFlight;
  for (let i = 0; i < packets; i++) {
    sent.push(i * intervalUs, 1200, flags, 0, 0);
    loss.onPacketSent(i * intervalUs, flags);
    loss.bytesInFlight += 1200;
  }
  return { sent, loss, host: new Host(sent) };
}

describe("ReorderingWindow (RACK, RFC 8985)", () => {
  test("before reordering: RFC 9002's 9/8 RTT and the 3-packet threshold", () => {
    const window = new ReorderingWindow();
    expect(window.lossDelayUs(10_000, 8_000, 5_000)).toBe((9 / 8) * 10_000);
    expect(window.lossDelayUs(100, 100, 100)).toBe(GRANULARITY_US);
    expect(window.packetThreshold()).toBe(PACKET_THRESHOLD);
  });

  test("each spurious loss doubles the window once per round trip, up to one RTT", () => {
    const window = new ReorderingWindow();
    window.onSpuriousLoss(0, 10_000);
    expect(window.packetThreshold()).toBe(Infinity);
    expect(window.multiplier).toBe(2);
    window.onSpuriousLoss(5_000, 10_000); // same round trip
    expect(window.multiplier).toBe(2);
    // min RTT 1 ms: window = max(RTT/8, 2 x 1 ms / 4) = 1.25 ms
    expect(window.lossDelayUs(10_000, 10_000, 1_000)).toBe(11_250);
    for (let k = 1; k <= 10; k++) window.onSpuriousLoss(k * 10_000, 10_000);
    expect(window.multiplier).toBe(2048);
    expect(window.lossDelayUs(10_000, 10_000, 1_000)).toBe(20_000); // capped at one RTT
  });

  test("16 loss episodes without a spurious loss halve a widened window", () => {
    const window = new ReorderingWindow();
    window.onSpuriousLoss(0, 1_000);
    window.onSpuriousLoss(2_000, 1_000);
    expect(window.multiplier).toBe(4);
    for (let k = 0; k < 15; k++) window.onLossDeclared(10_000 + k * 1_000, 1_000);
    expect(window.multiplier).toBe(4);
    window.onLossDeclared(10_000 + 14_500, 1_000); // within the last episode's round trip
    expect(window.multiplier).toBe(4);
    window.onLossDeclared(10_000 + 15_000, 1_000);
    expect(window.multiplier).toBe(2);
    expect(window.reorderingSeen).toBe(true); // the path still reorders: no packet threshold
  });
});

describe("LossDetection", () => {
  test("an ACK of a packet overtaken by a later one turns the packet threshold off", () => {
    const { loss, host } = setup(20, 10);
    loss.onAck(300, ackFrame([5, 5]), host); // 0..2 are 3+ behind: lost by count (the time is 1 ms away)
    expect(host.lost).toEqual([0, 1, 2]);
    loss.onAck(310, ackFrame([5, 4]), host); // 4 sent before 5, acknowledged after it: reordering
    expect(loss.reordering.reorderingSeen).toBe(true);
    loss.onAck(320, ackFrame([19, 19, 5, 4]), host); // 6..18 are 1..13 behind 19, within the time
    expect(host.lost).toEqual([0, 1, 2]);
    expect(loss.lossTimeUs).toBe(3 * 10 + GRANULARITY_US); // packet 3 goes by time
  });

  test("packet threshold: three later packets acknowledged make a hole lost", () => {
    const { loss, host } = setup(10, 10);
    // Ack 5..9: each of 0..4 is at least 3 below the largest acknowledged (9).
    expect(loss.onAck(200, ackFrame([9, 5]), host)).toBe(AckVerdict.ok);
    expect(host.acked.sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9]);
    expect(host.lost).toEqual([0, 1, 2, 3, 4]);
    expect(loss.bytesInFlight).toBe(0);
  });

  test("time threshold: a hole within 3 packets is lost after 9/8 RTT, via the loss timer", () => {
    const { loss, host } = setup(4, 1_000); // sent at 0, 1000, 2000, 3000
    loss.onAck(13_000, ackFrame([3, 2]), host); // RTT sample 10 ms from packet 3
    expect(loss.rtt.latestUs).toBe(10_000);
    // Loss delay 11250 us: packets sent at or before 1750 us (0 and 1) are lost by time.
    expect(host.lost).toEqual([0, 1]);
    const second = setup(4, 500); // sent at 0, 500, 1000, 1500
    second.loss.onAck(1_600, ackFrame([3, 3]), second.host); // RTT 100 us -> loss delay = 1 ms granularity
    expect(second.host.lost).toEqual([0, 1]); // 0: 3 packets behind; 1: sent 500 <= 1600 - 1000
    expect(second.loss.lossTimeUs).toBe(1_000 + 1_000); // packet 2 becomes lost at 2000 us
    expect(second.loss.timerUs()).toBe(2_000);
    second.loss.onTimeout(1_999, second.host);
    expect(second.host.lost).toEqual([0, 1]);
    second.loss.onTimeout(2_000, second.host);
    expect(second.host.lost).toEqual([0, 1, 2]);
  });

  test("an ACK of a never-sent packet is a violation; a spurious loss is recognised", () => {
    const { loss, host } = setup(5, 100);
    expect(loss.onAck(1_000, ackFrame([5, 5]), host)).toBe(AckVerdict.violation);
    loss.recordSkipped(2);
    expect(loss.onAck(1_000, ackFrame([4, 1]), host)).toBe(AckVerdict.violation);
    const late = setup(5, 100);
    late.loss.onAck(1_000, ackFrame([4, 4]), late.host); // 0 and 1 are 3+ behind: lost
    expect(late.host.lost).toEqual([0, 1]);
    late.loss.onAck(1_100, ackFrame([4, 4, 1, 0]), late.host); // they arrive after all
    expect(late.host.spurious).toBe(2);
    expect(late.loss.spuriousLosses).toBe(2);
  });

  test("persistent congestion: lost packets spanning more than 3 PTO with nothing acked between", () => {
    const { loss, host } = setup(12, 100_000); // one packet every 100 ms
    loss.rtt.update(10_000, 0); // PTO = 10 + 20 + 2 ms: 3 PTO = 96 ms
    expect(loss.onAck(1_200_000, ackFrame([11, 11]), host)).toBe(AckVerdict.ok);
    expect(host.lost.length).toBe(11);
    expect(host.persistent).toBe(1);
    const short = setup(12, 100_000);
    short.loss.rtt.update(10_000, 0);
    short.loss.onAck(1_200_000, ackFrame([11, 11, 5, 5]), short.host); // an ACK in the middle breaks the run
    expect(short.host.lost.length).toBe(10);
    expect(short.host.persistent).toBe(1); // 0..4 still span 400 ms > 96 ms
    const none = setup(4, 10_000);
    none.loss.rtt.update(50_000, 0); // 3 PTO = 3 * (50 + 100 + 2) ms: far longer than the 30 ms span
    none.loss.onAck(100_000, ackFrame([3, 3]), none.host);
    expect(none.host.lost.length).toBe(3);
    expect(none.host.persistent).toBe(0);
  });

  test("PTO doubles with each consecutive timeout and resets on an ACK", () => {
    const { loss, host } = setup(1, 0);
    const base = loss.rtt.probeTimeoutUs(2_000);
    expect(loss.timerUs()).toBe(base);
    expect(loss.onTimeout(base, host)).toBe(true);
    expect(loss.timerUs()).toBe(2 * base);
    expect(loss.onTimeout(2 * base, host)).toBe(true);
    expect(loss.timerUs()).toBe(4 * base);
    loss.onAck(4 * base, ackFrame([0, 0]), host);
    expect(loss.ptoCount).toBe(0);
    expect(loss.timerUs()).toBe(Infinity); // nothing in flight
  });
});

describe("regressions found by the simulator (test/sim/FINDINGS.md)", () => {
  test("the loss timer always fires what it armed, with fractional microseconds (no livelock)", () => {
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (let run = 0; run < 2000; run++) {
      const sent = new SentPacketRing(8, 64);
      const loss = new LossDetection(sent);
      loss.peerMaxAckDelayUs = 2_000;
      const host = new Host(sent);
      const flags = SentFlag.ackEliciting | SentFlag.inFlight;
      const t0 = 100_000 + random() * 500_000;
      const t1 = t0 + random() * 100;
      sent.push(t0, 1200, flags, 0, 0);
      loss.onPacketSent(t0, flags);
      sent.push(t1, 1200, flags, 0, 0);
      loss.onPacketSent(t1, flags);
      loss.onAck(t1 + 1_000 + random() * 50_000, ackFrame([1, 1]), host);
      if (host.lost.length > 0) continue; // lost at once: nothing armed
      const deadline = loss.timerUs();
      expect(Number.isFinite(deadline)).toBe(true);
      loss.onTimeout(deadline, host);
      expect(host.lost).toEqual([0]);
      expect(loss.timerUs()).not.toBe(deadline);
    }
  });

  test("a spurious loss turns the packet threshold off and widens the reordering window", () => {
    const { loss, host } = setup(5, 100);
    loss.onAck(1_000, ackFrame([4, 4]), host);
    expect(host.lost).toEqual([0, 1]);
    expect(loss.reordering.packetThreshold()).toBe(3);
    loss.onAck(1_100, ackFrame([4, 4, 1, 0]), host);
    expect(loss.reordering.reorderingSeen).toBe(true);
    expect(loss.reordering.packetThreshold()).toBe(Infinity);
    expect(loss.reordering.multiplier).toBe(2); // two spurious losses in one round trip: one doubling
  });
});
