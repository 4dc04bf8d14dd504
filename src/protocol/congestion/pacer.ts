// Pacer with a send quantum (RFC 9002 §7.7; Linux fq's time_next_packet; quiche's pacer).
//
// Every datagram gets a departure time computed from the pacing rate: the previous one's
// plus its size / rate. A datagram may leave once its departure time has come. After a
// pause the schedule may lag `now` by at most one send quantum, so the sender bursts what
// the rate delivers in SEND_QUANTUM_US (at least 2 datagrams) and then is held to the rate.
//
// Why departure times instead of a token bucket refilled from `now`: the runtime passes one
// `now` for a whole transmit pass and wakes on a millisecond timer. A bucket refilled from
// that one `now` lets at most its capacity leave per event-loop turn (10 datagrams before:
// 9.4 datagrams in flight while cwnd was hundreds of MB). The schedule advances by each
// datagram's own transmission time, so a pass releases exactly the datagrams whose
// departure time has come, and the next deadline is the first one that has not.
// The engine reads no clock: the departure times are arithmetic on the rate.

import { windowPacingRate } from "./controller.ts";

export { PACING_GAIN } from "./controller.ts";
/** A burst is what the rate delivers in this long: one or two event-loop turns of a 1 ms timer. */
export const SEND_QUANTUM_US = 2_000;
export const SEND_QUANTUM_PACKETS_MIN = 2;
/** The native driver sends runs of equal datagrams as one GSO call of at most 64 segments. */
export const GSO_SEGMENTS_MAX = 64;

export class Pacer {
  /** Bytes per microsecond; Infinity: not paced (no RTT sample yet or no window limit). */
  rateBytesPerUs = Infinity;
  /** Bytes the sender may burst after a pause. */
  quantumBytes: number;
  /** When the next datagram may leave (us); -Infinity after a reset. */
  private nextDepartureUs = -Infinity;

  constructor(private readonly mtuBytes: number) {
    this.quantumBytes = SEND_QUANTUM_PACKETS_MIN * mtuBytes;
  }

  /** Loss-based controllers: rate = 1.25 x window / smoothed RTT. */
  setRate(windowBytes: number, smoothedRttUs: number): void {
    this.setRateBytesPerUs(windowPacingRate(windowBytes, smoothedRttUs));
  }

  /** The controller's rate (BBR's model, or windowPacingRate for the loss-based ones). */
  setRateBytesPerUs(rateBytesPerUs: number): void {
    if (rateBytesPerUs === this.rateBytesPerUs) return;
    this.rateBytesPerUs = rateBytesPerUs;
    this.quantumBytes = sendQuantumBytes(rateBytesPerUs, this.mtuBytes);
  }

  /** The earliest time the next datagram may depart: the schedule lags `now` by at most the
   *  quantum less one datagram, so a burst after a pause is the quantum and no more. */
  private departureUs(nowUs: number): number {
    const burstUs = (this.quantumBytes - this.mtuBytes) / this.rateBytesPerUs;
    const earliest = nowUs - burstUs;
    return this.nextDepartureUs > earliest ? this.nextDepartureUs : earliest;
  }

  /** 0 if a datagram may go now, else the time (whole us, rounded up so that it is due
   *  then) when it may. The schedule itself keeps the fractions of the rate. */
  delayUntilUs(nowUs: number, _bytes: number): number {
    if (this.rateBytesPerUs === Infinity) return 0;
    const departure = this.departureUs(nowUs);
    return departure <= nowUs ? 0 : Math.ceil(departure);
  }

  onPacketSent(nowUs: number, bytes: number): void {
    if (this.rateBytesPerUs === Infinity) {
      this.nextDepartureUs = -Infinity;
      return;
    }
    this.nextDepartureUs = this.departureUs(nowUs) + bytes / this.rateBytesPerUs;
  }
}

/** What the rate delivers in SEND_QUANTUM_US, at least 2 datagrams; in whole datagrams so a
 *  burst of full datagrams forms GSO runs, and runs of at most GSO_SEGMENTS_MAX are whole. */
export function sendQuantumBytes(rateBytesPerUs: number, mtuBytes: number): number {
  let packets = Math.floor((rateBytesPerUs * SEND_QUANTUM_US) / mtuBytes);
  if (packets > GSO_SEGMENTS_MAX) packets -= packets % GSO_SEGMENTS_MAX;
  if (!(packets >= SEND_QUANTUM_PACKETS_MIN)) packets = SEND_QUANTUM_PACKETS_MIN; // also NaN
  return packets * mtuBytes;
}
