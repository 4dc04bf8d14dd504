// The handshake half of a connection (docs/PROTOCOL.md §3).
// Client: INITIAL goes out at once, again after 250 ms, 500 ms, then every 1 s, until the
// server's HANDSHAKE arrives or the handshake deadline passes; a RETRY brings a cookie and
// restarts the backoff. Server: the connection starts connected once the cookie came back;
// HANDSHAKE goes out again on the same backoff until the client's first DATA packet (or a
// repeated INITIAL shows that our reply was lost).
/** First INITIAL / HANDSHAKE resend interval; it doubles twice. */
export const INITIAL_RESEND_US = 250_000;
/** RETRYs a client follows before it ignores further ones. */
const RETRIES_MAX = 3;

export class HandshakeState {
  // ---- client
  private token: Uint8Array | null = null;
  private retriesReceived = 0;
  private initialDueUs = Infinity;
  private initialSends = 0;
  private deadlineUs = Infinity;
  // ---- server
  /** A HANDSHAKE reply is owed (first, or again because the INITIAL came again). */
  private replyPending = false;
  /** False until the client's first DATA packet arrives. */
  private confirmed = true;
  private replyResendUs = Infinity;
  private replyResends = 0;

  // ------------------------------------------------------------------ client

  startClient(nowUs: number, timeoutUs: number): void {
    this.initialDueUs = nowUs;
    this.deadlineUs = nowUs + timeoutUs;
  }

  /** The cookie to echo in INITIAL (null before any RETRY). */
  get cookie(): Uint8Array | null {
    return this.token;
  }

  /** Returns false when the RETRY is one too many. */
  onRetry(nowUs: number, token: Uint8Array): boolean {
    if (this.retriesReceived >= RETRIES_MAX) return false;
    this.retriesReceived++;
    this.token = token;
    this.initialDueUs = nowUs;
    this.initialSends = 0; // a new round trip: restart the backoff
    return true;
  }

  /** Whether an INITIAL is due now; if so, counts it and arms the next resend. */
  takeInitialDue(nowUs: number): boolean {
    if (nowUs < this.initialDueUs) return false;
    this.initialSends++;
    // 250 ms, 500 ms, then every 1 s: a handshake lost twice still completes in seconds.
    this.initialDueUs = nowUs + INITIAL_RESEND_US * 2 ** Math.min(this.initialSends - 1, 2);
    return true;
  }

  isInitialDue(nowUs: number): boolean {
    return nowUs >= this.initialDueUs;
  }

  hasTimedOut(nowUs: number): boolean {
    return nowUs >= this.deadlineUs;
  }

  /** The client's next handshake timer: an INITIAL resend or the deadline. */
  clientTimerUs(): number {
    return Math.min(this.initialDueUs, this.deadlineUs);
  }

  // ------------------------------------------------------------------ server

  acceptAsServer(nowUs: number): void {
    this.replyPending = true;
    this.confirmed = false;
    this.replyResendUs = nowUs + INITIAL_RESEND_US;
  }

  /** The client sent its INITIAL again: our HANDSHAKE was lost. */
  onRepeatedInitial(): void {
    if (!this.confirmed) this.replyPending = true;
  }

  /** The client's DATA arrived: it has our HANDSHAKE. */
  confirm(): void {
    this.confirmed = true;
    this.replyResendUs = Infinity;
  }

  /** The server's HANDSHAKE resend timer, or Infinity once confirmed. */
  replyTimerUs(): number {
    return this.replyResendUs;
  }

  onReplyTimer(nowUs: number): void {
    if (nowUs < this.replyResendUs) return;
    this.replyPending = true;
    this.replyResends++;
    this.replyResendUs = nowUs + INITIAL_RESEND_US * 2 ** Math.min(this.replyResends, 2);
  }

  /** Whether a HANDSHAKE reply is owed; clears the flag (the caller sends it). */
  takeReplyPending(): boolean {
    if (!this.replyPending) return false;
    this.replyPending = false;
    return true;
  }
}
