// The timers of an established connection, in one place. Each is a deadline in
// microseconds (Infinity when not armed); the endpoint asks for the earliest one
// (nextDeadlineUs) and calls back when it passes (fire):
//   retransmission (loss time / PTO)  recovery/lossDetection.ts timerUs()
//   delayed ACK                       ackState.ts timerUs()
//   HANDSHAKE resend (server)         handshake.ts replyTimerUs()
//   idle timeout                      here: lastReceivedUs + idleTimeoutUs
//   keepalive PING                    here: half an interval after the peer was last heard,
//                                     or a whole interval after our last ack-eliciting packet
//   pacing                            here: when the pacer lets the next packet go
//   progress (stalled peer)           here: progressSinceUs + progressTimeoutUs while data waits
// The handshake (client) and closing periods have their own timers (handshake.ts, closing.ts).
import type { LossDetection, RecoveryHost } from "../recovery/lossDetection.ts";
import type { AckState } from "./ackState.ts";
import type { HandshakeState } from "./handshake.ts";

/** What fired, as bits of the value fire() returns. */
export const TimerFired = { idle: 1, probe: 2, keepalive: 4, stalled: 8 } as const;

export class ConnectionTimers {
  /** When the peer was last heard from: the idle and keepalive timers count from here. */
  private lastReceivedUs: number;
  private pacingDeadlineUs = Infinity;
  /** Since when data has waited without the peer acknowledging any of it (Infinity: nothing
   *  waits). A peer that answers PINGs but ACKs no data, or keeps its window at 0, holds our
   *  memory; this deadline lets it go. */
  private progressSinceUs = Infinity;
  progressTimeoutUs = 30_000_000;

  constructor(
    nowUs: number,
    private readonly idleTimeoutUs: number,
    private readonly keepaliveIntervalUs: number,
    private readonly recovery: LossDetection,
    private readonly ack: AckState,
    private readonly handshake: HandshakeState,
  ) {
    this.lastReceivedUs = nowUs;
  }

  onPeerHeard(nowUs: number): void {
    this.lastReceivedUs = nowUs;
  }

  /** Call with whether data (unsent or unacknowledged) waits: starts the progress clock when
   *  data starts waiting, stops it when nothing does. */
  onDataWaiting(nowUs: number, waiting: boolean): void {
    if (!waiting) this.progressSinceUs = Infinity;
    else if (this.progressSinceUs === Infinity) this.progressSinceUs = nowUs;
  }

  /** The peer acknowledged data we held: the progress clock restarts. */
  onProgress(nowUs: number): void {
    this.progressSinceUs = nowUs;
  }

  private progressDeadlineUs(): number {
    return this.progressSinceUs + this.progressTimeoutUs;
  }

  /** The pacer holds the next packet until `untilUs`. */
  holdForPacing(untilUs: number): void {
    this.pacingDeadlineUs = untilUs;
  }

  private keepaliveDeadlineUs(): number {
    const interval = this.keepaliveIntervalUs;
    return Math.max(this.recovery.lastAckElicitingSentUs, this.lastReceivedUs - interval / 2) + interval;
  }

  nextDeadlineUs(): number {
    let deadline = Math.min(this.recovery.timerUs(), this.lastReceivedUs + this.idleTimeoutUs, this.pacingDeadlineUs, this.handshake.replyTimerUs());
    const ackUs = this.ack.timerUs();
    if (ackUs < deadline) deadline = ackUs;
    return Math.min(deadline, this.keepaliveDeadlineUs(), this.progressDeadlineUs());
  }

  /** Runs every timer that is due; returns what the connection must act on (TimerFired bits).
   *  When `idle` or `stalled` is set nothing else ran: the connection is to end. */
  fire(nowUs: number, host: RecoveryHost): number {
    if (nowUs >= this.lastReceivedUs + this.idleTimeoutUs) return TimerFired.idle;
    if (nowUs >= this.progressDeadlineUs()) return TimerFired.stalled;
    let fired = 0;
    this.handshake.onReplyTimer(nowUs);
    if (this.recovery.onTimeout(nowUs, host)) fired |= TimerFired.probe;
    this.ack.onTimeout(nowUs);
    if (nowUs >= this.keepaliveDeadlineUs()) fired |= TimerFired.keepalive;
    if (nowUs >= this.pacingDeadlineUs) this.pacingDeadlineUs = Infinity;
    return fired;
  }
}
