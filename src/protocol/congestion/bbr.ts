// "bbr": a model-based controller after BBR (draft-cardwell-iccrg-bbr-congestion-control;
// quinn's and quiche's BBR follow the same structure), with BBRv2's bound on what is in
// flight when a round's loss is above a threshold.
//
// The model is the bottleneck bandwidth (the maximum delivery rate over 10 rounds) and the
// minimum RTT (over 10 s). The sender paces at gain x bandwidth and keeps at most
// 2 x bandwidth x min RTT in flight. States:
// - startup: gain 2.885 until the bandwidth stops growing by 25% for 3 rounds (or a round
//   loses more than the threshold);
// - drain: gain 1/2.885 until what is in flight is back at one BDP (the queue startup built);
// - probe-bw: gains 1.25, 0.75, then 1 for six rounds, each phase one min RTT: probe for more
//   bandwidth, then drain what the probe queued;
// - probe-rtt: every 10 s without a new minimum RTT, 4 datagrams in flight for 200 ms, so a
//   queue that has built up drains and the minimum RTT is measured again.
//
// Loss: below LOSS_THRESHOLD of a round's packets, loss is not congestion and changes nothing
// (random loss on a wireless or long path). A round above it bounds what is in flight to 0.7 x
// what the round had in flight (BBRv2's inflight_hi); the bound grows back in probe-bw by 1, 2,
// 4 ... datagrams per round without such loss. A full drop-tail queue loses far more than
// LOSS_THRESHOLD of a round, so queue overflow still shrinks the window.
//
// Not modelled: ACK aggregation (the extra cwnd for bursty ACKs), BBRv3's bw_lo/inflight_lo
// short-term bounds and ECN. The sender marks samples app-limited (onAppLimited) so that a
// quiet application does not lower the bandwidth estimate.

import type { RttEstimator } from "../recovery/rtt.ts";
import { initialWindowBytes, type CongestionController } from "./controller.ts";
import { DeliveryRateSampler } from "./deliveryRate.ts";

const HIGH_GAIN = 2 / Math.LN2;
const DRAIN_GAIN = 1 / HIGH_GAIN;
const CWND_GAIN = 2;
const PROBE_BW_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
const BANDWIDTH_FILTER_ROUNDS = 10;
const MIN_RTT_WINDOW_US = 10_000_000;
const PROBE_RTT_DURATION_US = 200_000;
const FULL_BANDWIDTH_GROWTH = 1.25;
const FULL_BANDWIDTH_ROUNDS = 3;
const MIN_WINDOW_PACKETS = 4;
/** A round losing more than this fraction of what it delivered and lost is congested. */
export const BBR_LOSS_THRESHOLD = 0.2;
/** BBRv2's beta: the in-flight bound after a congested round. */
const LOSS_BETA = 0.7;
/** Rounds with losses too few to judge: below this many lost packets a round is never congested. */
const LOSS_EVENTS_MIN = 8;

export const BbrState = { startup: 0, drain: 1, probeBw: 2, probeRtt: 3 } as const;

export class BbrController implements CongestionController {
  /** "adaptive" is this controller under the seed's old name (factory.ts says why). */
  readonly name: "bbr" | "adaptive";
  windowBytes: number;
  state: number = BbrState.startup;
  /** Bytes per microsecond: the windowed maximum delivery rate. */
  bandwidthBytesPerUs = 0;
  minRttUs = Infinity;
  pacingGain = HIGH_GAIN;
  cwndGain = HIGH_GAIN;
  /** BBRv2 inflight_hi: set by a congested round; Infinity while none was. */
  inflightHighBytes = Infinity;
  roundCount = 0;
  filledPipe = false;
  readonly sampler = new DeliveryRateSampler();

  private readonly minWindowBytes: number;
  private readonly initialWindow: number;
  private bytesInFlight = 0;
  private pacingRate = 0;
  // Rounds: a round ends when a packet sent after the previous round's end is acknowledged.
  private nextRoundDelivered = 0;
  private roundStart = false;
  private readonly bandwidthByRound = new Float64Array(BANDWIDTH_FILTER_ROUNDS);
  private readonly bandwidthRound = new Float64Array(BANDWIDTH_FILTER_ROUNDS).fill(-1);
  private fullBandwidth = 0;
  private fullBandwidthRounds = 0;
  private minRttStampUs = 0;
  private probeRttDoneUs = -1;
  private probeRttRoundDone = false;
  private cycleIndex = 0;
  private cycleStartUs = 0;
  // The current round's loss, for the threshold.
  private roundLostBytes = 0;
  private roundLostPackets = 0;
  private roundAckedBytes = 0;
  private roundInflightMax = 0;
  private inflightHighGrowthBytes: number;
  private savedInflightHighBytes = Infinity;

  constructor(
    private readonly mtuBytes: number,
    name: "bbr" | "adaptive" = "bbr",
  ) {
    this.name = name;
    this.initialWindow = initialWindowBytes(mtuBytes);
    this.windowBytes = this.initialWindow;
    this.minWindowBytes = MIN_WINDOW_PACKETS * mtuBytes;
    this.inflightHighGrowthBytes = mtuBytes;
  }

  get inSlowStart(): boolean {
    return this.state === BbrState.startup;
  }

  onPacketSent(nowUs: number, bytes: number, bytesInFlight = this.bytesInFlight + bytes): void {
    this.sampler.onPacketSent(nowUs, bytesInFlight - bytes);
    this.bytesInFlight = bytesInFlight;
    if (bytesInFlight > this.roundInflightMax) this.roundInflightMax = bytesInFlight;
  }

  onAppLimited(bytesInFlight: number): void {
    this.sampler.onAppLimited(bytesInFlight);
  }

  /** Bytes per microsecond to pace at. */
  pacingRateBytesPerUs(smoothedRttUs: number): number {
    if (this.pacingRate === 0) return (HIGH_GAIN * this.initialWindow) / Math.max(smoothedRttUs, 1);
    return this.pacingRate;
  }

  onPacketAcked(nowUs: number, bytes: number, timeSentUs: number, rtt: RttEstimator): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - bytes);
    this.roundAckedBytes += bytes;
    const sample = this.sampler.onPacketAcked(nowUs, bytes, timeSentUs);
    this.updateRound(sample.priorDelivered);
    if (sample.rateBytesPerUs > 0 && (!sample.appLimited || sample.rateBytesPerUs >= this.bandwidthBytesPerUs)) this.updateBandwidth(sample.rateBytesPerUs);
    this.updateMinRtt(nowUs, nowUs - timeSentUs);
    if (this.roundStart) this.endLossRound();
    this.updateState(nowUs);
    this.updatePacingRate();
    this.updateWindow(bytes);
    this.sampler.pruneBefore(timeSentUs - 4 * Math.max(rtt.smoothedUs, this.minRttUs === Infinity ? 0 : this.minRttUs));
  }

  onPacketLost(_nowUs: number, bytes: number, _timeSentUs: number, _rtt: RttEstimator): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - bytes);
    this.roundLostBytes += bytes;
    this.roundLostPackets++;
    if (this.roundTooLossy()) this.onCongestedRound();
  }

  undoReduction(): void {
    if (this.savedInflightHighBytes === this.inflightHighBytes) return;
    this.inflightHighBytes = this.savedInflightHighBytes;
  }

  onPersistentCongestion(_nowUs: number): void {
    this.windowBytes = this.minWindowBytes;
  }

  /** BDP x gain, plus room for a few send quanta so pacing bursts are not cwnd-limited. */
  targetWindowBytes(gain: number): number {
    if (this.bandwidthBytesPerUs === 0 || this.minRttUs === Infinity) return this.initialWindow;
    const bdp = this.bandwidthBytesPerUs * this.minRttUs;
    return Math.max(gain * bdp + 3 * 2 * this.mtuBytes, this.minWindowBytes);
  }

  private updateRound(priorDelivered: number): void {
    this.roundStart = false;
    if (priorDelivered >= this.nextRoundDelivered) {
      this.nextRoundDelivered = this.sampler.delivered;
      this.roundCount++;
      this.roundStart = true;
    }
  }

  private updateBandwidth(rate: number): void {
    const slot = this.roundCount % BANDWIDTH_FILTER_ROUNDS;
    if (this.bandwidthRound[slot] !== this.roundCount) {
      this.bandwidthRound[slot] = this.roundCount;
      this.bandwidthByRound[slot] = 0;
    }
    if (rate > this.bandwidthByRound[slot]) this.bandwidthByRound[slot] = rate;
    let best = 0;
    for (let k = 0; k < BANDWIDTH_FILTER_ROUNDS; k++) {
      if (this.roundCount - this.bandwidthRound[k] < BANDWIDTH_FILTER_ROUNDS && this.bandwidthByRound[k] > best) best = this.bandwidthByRound[k];
    }
    this.bandwidthBytesPerUs = best;
  }

  private updateMinRtt(nowUs: number, sampleUs: number): void {
    const expired = nowUs - this.minRttStampUs > MIN_RTT_WINDOW_US;
    if (sampleUs > 0 && (sampleUs <= this.minRttUs || expired)) {
      this.minRttUs = sampleUs;
      this.minRttStampUs = nowUs;
    }
    if (expired && this.state !== BbrState.probeRtt) this.enterProbeRtt();
  }

  private roundTooLossy(): boolean {
    if (this.roundLostPackets < LOSS_EVENTS_MIN) return false;
    // Mid-round the denominator is at least a round's worth (what was in flight), so a burst
    // early in a round is judged against the round, not against the few packets acked so far.
    const roundBytes = Math.max(this.roundLostBytes + this.roundAckedBytes, this.roundInflightMax);
    return this.roundLostBytes > BBR_LOSS_THRESHOLD * roundBytes;
  }

  /** BBRv2: bound what is in flight, at most once per round. */
  private onCongestedRound(): void {
    this.savedInflightHighBytes = this.inflightHighBytes;
    this.inflightHighBytes = Math.max(this.minWindowBytes, LOSS_BETA * Math.min(this.roundInflightMax, this.windowBytes));
    this.inflightHighGrowthBytes = this.mtuBytes;
    if (this.state === BbrState.startup) this.filledPipe = true;
    // Start the next loss round now so one episode counts once.
    this.roundLostBytes = 0;
    this.roundLostPackets = 0;
    this.roundAckedBytes = 0;
    this.roundInflightMax = this.bytesInFlight;
    this.nextRoundDelivered = this.sampler.delivered;
  }

  private endLossRound(): void {
    if (this.roundTooLossy()) this.onCongestedRound();
    else if (this.inflightHighBytes !== Infinity && this.state === BbrState.probeBw) {
      this.inflightHighBytes += this.inflightHighGrowthBytes;
      this.inflightHighGrowthBytes = Math.min(2 * this.inflightHighGrowthBytes, 64 * this.mtuBytes);
      if (this.inflightHighBytes >= 2 * this.targetWindowBytes(CWND_GAIN)) this.inflightHighBytes = Infinity;
    }
    this.roundLostBytes = 0;
    this.roundLostPackets = 0;
    this.roundAckedBytes = 0;
    this.roundInflightMax = this.bytesInFlight;
  }

  private updateState(nowUs: number): void {
    if (this.state === BbrState.startup || this.state === BbrState.drain) this.checkFullPipe();
    if (this.state === BbrState.startup && this.filledPipe) {
      this.state = BbrState.drain;
      this.pacingGain = DRAIN_GAIN;
      this.cwndGain = HIGH_GAIN;
    }
    if (this.state === BbrState.drain && this.bytesInFlight <= this.targetWindowBytes(1)) this.enterProbeBw(nowUs);
    if (this.state === BbrState.probeBw) this.advanceCycle(nowUs);
    if (this.state === BbrState.probeRtt) this.handleProbeRtt(nowUs);
  }

  private checkFullPipe(): void {
    if (this.filledPipe || !this.roundStart) return;
    if (this.bandwidthBytesPerUs >= this.fullBandwidth * FULL_BANDWIDTH_GROWTH) {
      this.fullBandwidth = this.bandwidthBytesPerUs;
      this.fullBandwidthRounds = 0;
      return;
    }
    if (++this.fullBandwidthRounds >= FULL_BANDWIDTH_ROUNDS) this.filledPipe = true;
  }

  private enterProbeBw(nowUs: number): void {
    this.state = BbrState.probeBw;
    this.cwndGain = CWND_GAIN;
    // Deterministic (sans-IO, no randomness): start at the first cruising phase.
    this.cycleIndex = 2;
    this.cycleStartUs = nowUs;
    this.pacingGain = PROBE_BW_GAINS[this.cycleIndex]!;
  }

  private advanceCycle(nowUs: number): void {
    const elapsed = nowUs - this.cycleStartUs > this.minRttUs;
    const gain = this.pacingGain;
    let next = elapsed;
    // Probing up lasts until the probe put 1.25 BDP in flight (or loss says stop).
    if (gain > 1) next = elapsed && (this.bytesInFlight >= this.targetWindowBytes(gain) - 3 * 2 * this.mtuBytes || this.roundLostPackets > 0);
    // Draining down ends early once the queue is gone.
    else if (gain < 1) next = elapsed || this.bytesInFlight <= this.targetWindowBytes(1);
    if (!next) return;
    this.cycleIndex = (this.cycleIndex + 1) % PROBE_BW_GAINS.length;
    this.cycleStartUs = nowUs;
    this.pacingGain = PROBE_BW_GAINS[this.cycleIndex]!;
  }

  private enterProbeRtt(): void {
    this.state = BbrState.probeRtt;
    this.pacingGain = 1;
    this.cwndGain = 1;
    this.probeRttDoneUs = -1;
    this.probeRttRoundDone = false;
  }

  private handleProbeRtt(nowUs: number): void {
    if (this.probeRttDoneUs < 0) {
      if (this.bytesInFlight <= this.minWindowBytes) {
        this.probeRttDoneUs = nowUs + PROBE_RTT_DURATION_US;
        this.nextRoundDelivered = this.sampler.delivered;
      }
      return;
    }
    if (this.roundStart) this.probeRttRoundDone = true;
    if (!this.probeRttRoundDone || nowUs < this.probeRttDoneUs) return;
    this.minRttStampUs = nowUs;
    if (this.filledPipe) this.enterProbeBw(nowUs);
    else {
      this.state = BbrState.startup;
      this.pacingGain = HIGH_GAIN;
      this.cwndGain = HIGH_GAIN;
    }
  }

  private updatePacingRate(): void {
    if (this.bandwidthBytesPerUs === 0) return;
    const rate = this.pacingGain * this.bandwidthBytesPerUs;
    // In startup the rate only rises: one low sample must not slow the search.
    if (this.filledPipe || rate > this.pacingRate) this.pacingRate = rate;
  }

  private updateWindow(ackedBytes: number): void {
    let window: number;
    if (this.state === BbrState.probeRtt) window = this.minWindowBytes;
    else {
      const target = this.targetWindowBytes(this.cwndGain);
      window = this.filledPipe ? Math.min(this.windowBytes + ackedBytes, target) : this.windowBytes + ackedBytes;
      if (!this.filledPipe && window > target && this.bandwidthBytesPerUs > 0) window = Math.max(target, this.windowBytes);
    }
    if (this.inflightHighBytes !== Infinity) window = Math.min(window, this.inflightHighBytes);
    this.windowBytes = Math.max(window, this.minWindowBytes);
  }
}
