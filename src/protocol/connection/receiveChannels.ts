// Per-channel receive state: ordering for reliable-ordered, duplicate suppression for
// reliable-unordered, the newest-wins rule for unreliable-sequenced. Each channel keeps its
// own state, so a gap on one channel never holds back another.
import { DeliveryModeCode, type FrameReader } from "../wire/frames.ts";
import { FragmentVerdict, type Reassembly } from "./reassembly.ts";
import { ChannelMap } from "./channelMap.ts";

/** How far ahead of the next expected message ID a peer may run on one channel. */
export const MESSAGES_AHEAD_MAX = 1 << 17;
export const HELD_MESSAGES_MAX = 1 << 16;

export const MessageVerdict = { accepted: 0, refused: 1, violation: 2, malformed: 3, beyondWindow: 4 } as const;

/** Where delivered messages go (the connection, which forwards to the event queue). */
export interface MessageSink {
  deliverCopy(channel: number, reliable: boolean, data: Uint8Array, start: number, length: number): void;
  deliverBuffer(channel: number, reliable: boolean, buffer: Uint8Array): void;
  staleMessageDropped(): void;
  reassemblyRefused(): void;
  /** New reliable payload bytes arrived (each fragment counted once); false when they exceed
   *  the receive window we announced (PROTOCOL.md §6: a flow-control violation). */
  reliableBytesReceived(bytes: number): boolean;
}

class ChannelState {
  nextOrderedId = 0;
  held: Map<number, Uint8Array> | null = null;
  unorderedBase = 0;
  unorderedAbove: Set<number> | null = null;
  sequencedLast = -1;
}

export class ReceiveChannels {
  /** Only the channels the peer has used (channelMap.ts). */
  private readonly states = new ChannelMap<ChannelState>();
  heldCount = 0;
  heldBytes = 0;

  constructor(
    private readonly sink: MessageSink,
    private readonly reassembly: Reassembly,
  ) {}

  onMessage(nowUs: number, frame: FrameReader, data: Uint8Array): number {
    const channel = frame.channel;
    const id = frame.messageId;
    const mode = frame.modeCode;
    let state = this.states.get(channel);
    if (state === undefined) this.states.set(channel, (state = new ChannelState()));
    if (mode === DeliveryModeCode.reliableOrdered) {
      if (id < state.nextOrderedId || (state.held !== null && state.held.has(id))) return MessageVerdict.accepted;
      if (id - state.nextOrderedId > MESSAGES_AHEAD_MAX) return MessageVerdict.violation;
    } else if (mode === DeliveryModeCode.reliableUnordered) {
      if (id < state.unorderedBase || (state.unorderedAbove !== null && state.unorderedAbove.has(id))) return MessageVerdict.accepted;
      if (id - state.unorderedBase > MESSAGES_AHEAD_MAX) return MessageVerdict.violation;
    } else if (mode === DeliveryModeCode.unreliableSequenced && id <= state.sequencedLast) {
      this.sink.staleMessageDropped();
      return MessageVerdict.accepted;
    }
    const reliable = mode <= DeliveryModeCode.reliableUnordered;
    if (frame.fragmentCount === 1) {
      if (reliable && !this.sink.reliableBytesReceived(frame.payloadLength)) return MessageVerdict.beyondWindow;
      return this.deliver(state, channel, mode, id, data, frame.payloadStart, frame.payloadLength, null);
    }
    const verdict = this.reassembly.add(nowUs, channel, id, mode, frame.fragmentIndex, frame.fragmentCount, frame.totalLength,
      data, frame.payloadStart, frame.payloadLength);
    const fresh = verdict === FragmentVerdict.pending || verdict === FragmentVerdict.complete;
    if (reliable && fresh && !this.sink.reliableBytesReceived(frame.payloadLength)) {
      if (verdict === FragmentVerdict.complete) this.reassembly.completed = null;
      return MessageVerdict.beyondWindow;
    }
    if (verdict === FragmentVerdict.complete) {
      const buffer = this.reassembly.completed!.buffer;
      this.reassembly.completed = null;
      return this.deliver(state, channel, mode, id, buffer, 0, buffer.length, buffer);
    }
    if (verdict === FragmentVerdict.malformed) return MessageVerdict.malformed;
    if (verdict === FragmentVerdict.refused) {
      this.sink.reassemblyRefused();
      // Reliable fragments must come again: refuse the packet. Unreliable ones are just lost.
      return mode <= DeliveryModeCode.reliableUnordered ? MessageVerdict.refused : MessageVerdict.accepted;
    }
    return MessageVerdict.accepted;
  }

  private deliver(state: ChannelState, channel: number, mode: number, id: number, data: Uint8Array, start: number,
      length: number, owned: Uint8Array | null): number {
    const sink = this.sink;
    if (mode === DeliveryModeCode.reliableOrdered) {
      if (id !== state.nextOrderedId) {
        if (this.heldCount >= HELD_MESSAGES_MAX) return MessageVerdict.refused;
        if (state.held === null) state.held = new Map();
        state.held.set(id, owned ?? data.slice(start, start + length));
        this.heldCount++;
        this.heldBytes += length;
        return MessageVerdict.accepted;
      }
      this.emit(channel, true, data, start, length, owned);
      state.nextOrderedId++;
      const held = state.held;
      if (held !== null && held.size > 0) {
        let next = held.get(state.nextOrderedId);
        while (next !== undefined) {
          held.delete(state.nextOrderedId);
          this.heldCount--;
          this.heldBytes -= next.length;
          sink.deliverBuffer(channel, true, next);
          state.nextOrderedId++;
          next = held.get(state.nextOrderedId);
        }
      }
      return MessageVerdict.accepted;
    }
    if (mode === DeliveryModeCode.reliableUnordered) {
      this.emit(channel, true, data, start, length, owned);
      if (id === state.unorderedBase) {
        state.unorderedBase++;
        const above = state.unorderedAbove;
        if (above !== null) while (above.delete(state.unorderedBase)) state.unorderedBase++;
      } else {
        if (state.unorderedAbove === null) state.unorderedAbove = new Set();
        state.unorderedAbove.add(id);
      }
      return MessageVerdict.accepted;
    }
    if (mode === DeliveryModeCode.unreliableSequenced) {
      if (id <= state.sequencedLast) {
        sink.staleMessageDropped();
        return MessageVerdict.accepted;
      }
      state.sequencedLast = id;
    }
    this.emit(channel, false, data, start, length, owned);
    return MessageVerdict.accepted;
  }

  private emit(channel: number, reliable: boolean, data: Uint8Array, start: number, length: number, owned: Uint8Array | null): void {
    if (owned !== null) this.sink.deliverBuffer(channel, reliable, owned);
    else this.sink.deliverCopy(channel, reliable, data, start, length);
  }
}
