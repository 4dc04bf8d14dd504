// RACK's adaptive reordering window (RFC 8985 §6.2, steps 2 and 4).
//
// A packet is lost once a packet sent after it was acknowledged and RTT + reordering window
// has passed since it was sent. Until the path has shown reordering, the window is RFC 9002's
// RTT/8 and the duplicate threshold (3 packets) also applies. Once it has (a packet
// acknowledged after a later-sent one, or a loss that turned out spurious), the packet
// threshold is off for good: on a path that reorders, counting packets turns 1 ms of jitter
// at a high packet rate into loss. Each spurious loss doubles the window (once per round
// trip, up to one RTT); 16 loss episodes without a spurious one halve it again.

import { GRANULARITY_US } from "./rtt.ts";

/** RFC 9002 §6.1.1 kPacketThreshold, used only until reordering is seen (RFC 8985 §6.2). */
export const PACKET_THRESHOLD = 3;
/** RFC 8985 reo_wnd_persist: loss episodes after which a widened window shrinks. */
const EPISODES_BEFORE_SHRINK = 16;
const MULTIPLIER_MAX = 1 << 12;

export class ReorderingWindow {
  /** The path has reordered packets (RACK.reordering_seen). */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult, in units of min RTT / 4. */
  multiplier = 1;
  private lastWidenedUs = -Infinity;
  private lastEpisodeUs = -Infinity;
  private episodesSinceSpurious = 0;

  /** Packets behind the largest acknowledged one before one is lost by count alone. */
  packetThreshold(): number {
    return this.reorderingSeen ? Infinity : PACKET_THRESHOLD;
  }

  /** How long after it was sent a packet overtaken by an acknowledged one counts as lost. */
  lossDelayUs(latestRttUs: number, smoothedRttUs: number, minRttUs: number): number {
    const rttUs = Math.max(latestRttUs, smoothedRttUs);
    let windowUs = rttUs / 8;
    if (this.reorderingSeen && minRttUs !== Infinity) {
      windowUs = Math.min(Math.max(windowUs, (this.multiplier * minRttUs) / 4), rttUs);
    }
    return Math.ceil(Math.max(rttUs + windowUs, GRANULARITY_US)); // whole microseconds
  }

  /** A packet was acknowledged after a packet sent later than it, without being declared lost. */
  onReordering(): void {
    this.reorderingSeen = true;
  }

  /** A packet declared lost was acknowledged after all: the window was too short. */
  onSpuriousLoss(nowUs: number, smoothedRttUs: number): void {
    this.reorderingSeen = true;
    this.episodesSinceSpurious = 0;
    if (nowUs - this.lastWidenedUs < smoothedRttUs) return; // once per round trip
    this.lastWidenedUs = nowUs;
    if (this.multiplier < MULTIPLIER_MAX) this.multiplier *= 2;
  }

  /** Packets were declared lost; a round trip's worth of losses is one episode. */
  onLossDeclared(nowUs: number, smoothedRttUs: number): void {
    if (nowUs - this.lastEpisodeUs < smoothedRttUs) return;
    this.lastEpisodeUs = nowUs;
    if (++this.episodesSinceSpurious < EPISODES_BEFORE_SHRINK) return;
    this.episodesSinceSpurious = 0;
    if (this.multiplier > 1) this.multiplier /= 2;
  }
}
