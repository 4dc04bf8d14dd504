// BBR's model on a scripted path: a sender paced at the controller's rate into a 25 MB/s link
// with 10 ms RTT (no queue: the ACK comes back one RTT after the datagram leaves the link), and
// a loss pattern. The controller must find the bandwidth and min RTT, ignore loss below its
// threshold and bound what is in flight above it.
import { expect, test } from "bun:test";
import { BbrController, BbrState, BBR_LOSS_THRESHOLD } from "../../src/protocol/congestion/bbr.ts";
import { createController } from "../../src/protocol/congestion/factory.ts";
import { RttEstimator } from "../../src/protocol/recovery/rtt.ts";

const MSS = 1200;
const LINK_BYTES_PER_US = 25;
const RTT_US = 10_000;

/** Runs `durationUs` of a closed loop; every `lossEvery`-th datagram is lost (0: none). */
function drive(cc: BbrController, durationUs: number, lossEvery: number, startUs = 0): { sent: number; endUs: number } {
  const rtt = new RttEstimator();
  const inFlight: { sentUs: number; arriveUs: number; lost: boolean }[] = [];
  let linkFreeUs = startUs;
  let nextSendUs = startUs;
  let bytesInFlight = 0;
  let sent = 0;
  for (let now = startUs; now < startUs + durationUs; now += 50) {
    while (inFlight.length > 0 && inFlight[0]!.arriveUs <= now) {
      const packet = inFlight.shift()!;
      bytesInFlight -= MSS;
      if (packet.lost) cc.onPacketLost(now, MSS, packet.sentUs, rtt);
      else {
        rtt.update(now - packet.sentUs, 0);
        cc.onPacketAcked(now, MSS, packet.sentUs, rtt);
      }
    }
    while (nextSendUs <= now && bytesInFlight + MSS <= cc.windowBytes) {
      sent++;
      bytesInFlight += MSS;
      cc.onPacketSent(now, MSS, bytesInFlight);
      linkFreeUs = Math.max(linkFreeUs, now) + MSS / LINK_BYTES_PER_US;
      inFlight.push({ sentUs: now, arriveUs: linkFreeUs + RTT_US, lost: lossEvery > 0 && sent % lossEvery === 0 });
      nextSendUs += MSS / cc.pacingRateBytesPerUs(rtt.hasSample ? rtt.smoothedUs : RTT_US);
      if (nextSendUs < now - 2 * MSS / LINK_BYTES_PER_US) nextSendUs = now;
    }
  }
  return { sent, endUs: startUs + durationUs };
}

test("bbr: startup finds the link rate and min RTT, then probe-bw keeps about 2 BDP of window", () => {
  const cc = new BbrController(MSS);
  expect(cc.inSlowStart).toBe(true);
  drive(cc, 1_000_000, 0);
  expect(cc.state).toBe(BbrState.probeBw);
  expect(cc.bandwidthBytesPerUs).toBeGreaterThan(0.9 * LINK_BYTES_PER_US);
  expect(cc.bandwidthBytesPerUs).toBeLessThan(1.3 * LINK_BYTES_PER_US);
  expect(cc.minRttUs).toBeGreaterThanOrEqual(RTT_US);
  expect(cc.minRttUs).toBeLessThan(RTT_US * 1.2);
  const bdp = LINK_BYTES_PER_US * RTT_US;
  expect(cc.windowBytes).toBeGreaterThan(1.5 * bdp);
  expect(cc.windowBytes).toBeLessThan(3 * bdp);
  expect(cc.inflightHighBytes).toBe(Infinity);
});

test(`bbr: 5% loss (below the ${BBR_LOSS_THRESHOLD * 100}% threshold) does not shrink the model or the window`, () => {
  const cc = new BbrController(MSS);
  drive(cc, 2_000_000, 20);
  expect(cc.inflightHighBytes).toBe(Infinity);
  expect(cc.bandwidthBytesPerUs).toBeGreaterThan(0.85 * LINK_BYTES_PER_US);
  expect(cc.windowBytes).toBeGreaterThan(1.5 * LINK_BYTES_PER_US * RTT_US);
});

test("bbr: a third of each round lost bounds what is in flight below the window it had", () => {
  const cc = new BbrController(MSS);
  const clean = drive(cc, 1_000_000, 0);
  const windowBefore = cc.windowBytes;
  drive(cc, 200_000, 3, clean.endUs + 50);
  expect(cc.inflightHighBytes).toBeLessThan(windowBefore);
  expect(cc.windowBytes).toBeLessThan(0.8 * windowBefore);
});

test("bbr is selectable by name", () => {
  expect(createController("bbr", MSS).name).toBe("bbr");
});
