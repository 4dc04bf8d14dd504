// The closing half of a connection (docs/PROTOCOL.md §7): why it ended, and the closing
// period in which CLOSE goes out, is resent (at most CLOSE_RESENDS_MAX times, at halving
// intervals, or when the peer keeps sending) and ends after 3 PTO or when the peer's CLOSE
// (or its echo of ours) arrives. The connection's state machine (connection.ts) decides
// when closing begins; this file keeps what the closing period needs.
import type { CloseReason } from "../api.ts";

export const CLOSE_RESENDS_MAX = 3;
/** CLOSEs sent in answer to the peer's packets (INITIAL included) per closing period. Apart
 *  from the timer's resends, so lost timer resends never leave a still-sending peer unanswered
 *  (test/sim/FINDINGS.md 7); bounded, so a flood of packets gets no flood of CLOSEs. */
export const CLOSE_ANSWERS_MAX = 16;
/** Close messages longer than this are cut (and cut again to fit one packet). */
const CLOSE_MESSAGE_BYTES_MAX = 256;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export interface ClosedDetail {
  reason: CloseReason;
  closeCode: number;
  message: string;
}

export class ClosingState {
  private reasonValue: CloseReason = "graceful";
  private code = 0;
  private messageBytes: Uint8Array = new Uint8Array(0);
  private sendPending = false;
  private resends = 0;
  private answers = 0;
  private deadlineUs = Infinity;
  /** Until the peer answers, CLOSE goes out again at this time (then at halving intervals). */
  private resendUs = Infinity;
  private closedEventSent = false;

  get reason(): CloseReason {
    return this.reasonValue;
  }

  get closeCode(): number {
    return this.code;
  }

  get message(): Uint8Array {
    return this.messageBytes;
  }

  /** Records why the connection ends (the last record before the "closed" event wins). */
  record(reason: CloseReason, closeCode: number, message: string, bytesMax = CLOSE_MESSAGE_BYTES_MAX): void {
    this.reasonValue = reason;
    this.code = closeCode;
    this.messageBytes = ENCODER.encode(message).subarray(0, bytesMax);
  }

  /** The closing period starts: CLOSE is owed unless the peer is not to be told. */
  begin(nowUs: number, notifyPeer: boolean, ptoUs: number): void {
    this.sendPending = notifyPeer;
    this.deadlineUs = notifyPeer ? nowUs + 3 * ptoUs : nowUs;
    this.resendUs = nowUs + ptoUs;
  }

  /** The peer closed: echo one CLOSE so it can stop resending its own, then be done. */
  echoPeerClose(nowUs: number): void {
    this.sendPending = true;
    this.resends = CLOSE_RESENDS_MAX;
    this.answers = CLOSE_ANSWERS_MAX;
    this.deadlineUs = nowUs;
  }

  /** Nothing more goes to the peer. */
  stopSending(): void {
    this.sendPending = false;
  }

  /** The peer is still sending: it has not seen our CLOSE. Answer with it, a bounded number of times. */
  onPeerStillSending(): void {
    if (this.answers >= CLOSE_ANSWERS_MAX) return;
    this.answers++;
    this.sendPending = true;
  }

  private onResendTimer(): void {
    if (this.resends >= CLOSE_RESENDS_MAX) return;
    this.resends++;
    this.sendPending = true;
  }

  isSendPending(): boolean {
    return this.sendPending;
  }

  /** The CLOSE is being written now. */
  takeSend(): void {
    this.sendPending = false;
  }

  /** Cuts the message so the CLOSE frame fits one packet. */
  shortenMessage(bytesMax: number): void {
    this.messageBytes = this.messageBytes.subarray(0, bytesMax);
  }

  isPastDeadline(nowUs: number): boolean {
    return nowUs >= this.deadlineUs;
  }

  timerUs(): number {
    return Math.min(this.deadlineUs, this.resendUs);
  }

  /** Returns true when the closing period is over; otherwise arms a resend if one is due. */
  onTimer(nowUs: number): boolean {
    if (nowUs >= this.deadlineUs && !this.sendPending) return true;
    if (nowUs >= this.resendUs) {
      this.resendUs = this.resends < CLOSE_RESENDS_MAX ? nowUs + (this.deadlineUs - nowUs) / 2 : Infinity;
      this.onResendTimer();
    }
    return false;
  }

  /** Whether the "closed" event is still to be emitted; marks it emitted. */
  takeClosedEvent(): boolean {
    if (this.closedEventSent) return false;
    this.closedEventSent = true;
    return true;
  }

  hasEmittedClosed(): boolean {
    return this.closedEventSent;
  }

  detail(): ClosedDetail {
    return { reason: this.reasonValue, closeCode: this.code, message: DECODER.decode(this.messageBytes) };
  }
}
