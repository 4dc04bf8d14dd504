// A KCP session as the endpoint holds it: the control block plus what KCP lacks and bun-rudp
// adds (dead-peer timeout, graceful close, backpressure state) and its place in the timer heap.
import type { CloseReason, PeerAddress } from "../api.ts";
import type { TimerOwner } from "../timerHeap.ts";
import type { KcpControlBlock } from "./controlBlock.ts";

export interface ClosingState {
  reason: CloseReason;
  closeCode: number;
  /** A graceful close gives up (abortively) at this time. */
  lingerUntilMs: number;
}

export class KcpSession implements TimerOwner {
  timerVersion = 0;
  timerDirty = false;
  finished = false;
  /** In the endpoint's list of sessions to flush at the next pollTransmit. */
  flushQueued = false;
  /** send() refused for lack of room: emit "drain" once there is room again. */
  drainWanted = false;
  closing: ClosingState | null = null;
  lastHeardMs: number;
  /** cb.send.bytes as last added to the engine-wide gauge. */
  accountedSendBytes = 0;
  /** Position in the endpoint's session list (swap-remove). */
  listIndex = -1;
  bytesSent = 0;
  bytesReceived = 0;
  messagesSent = 0;
  messagesReceived = 0;
  datagramsSent = 0;
  datagramsReceived = 0;

  constructor(
    readonly id: number,
    readonly remote: PeerAddress,
    readonly cb: KcpControlBlock,
    nowMs: number,
    private readonly deadPeerTimeoutMs: number,
  ) {
    this.lastHeardMs = nowMs;
  }

  get conv(): number {
    return this.cb.conv;
  }

  /** The earliest of: a retransmission or probe, the dead-peer timeout, the close linger. */
  nextDeadlineMs(): number {
    let deadline = Math.min(this.cb.nextTimerMs(), this.lastHeardMs + this.deadPeerTimeoutMs);
    if (this.closing !== null && this.closing.lingerUntilMs < deadline) deadline = this.closing.lingerUntilMs;
    return deadline;
  }

  nextDeadlineUs(): number {
    return this.nextDeadlineMs() * 1000;
  }

  isFinished(): boolean {
    return this.finished;
  }
}
