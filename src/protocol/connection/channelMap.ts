// Per-channel values for the channels a connection actually uses. Most connections use one to
// a few of the 256 channels, so a short list searched linearly (with a one-entry cache for the
// usual case, the same channel again) costs a few dozen bytes where 256-entry tables cost 2 KiB
// each whether used or not (issue 13: idle connections held three of them).

const NO_VALUES: readonly never[] = [];

export class ChannelMap<T> {
  // Allocated by the first set (an idle connection has none).
  private channels: number[] | null = null;
  private values: T[] = NO_VALUES as unknown as T[];
  private lastChannel = -1;
  private lastValue: T | undefined = undefined;

  get(channel: number): T | undefined {
    if (channel === this.lastChannel) return this.lastValue;
    const channels = this.channels;
    if (channels === null) return undefined;
    for (let k = 0; k < channels.length; k++) {
      if (channels[k] === channel) {
        this.lastChannel = channel;
        return (this.lastValue = this.values[k]);
      }
    }
    return undefined;
  }

  set(channel: number, value: T): void {
    if (this.channels === null) {
      this.channels = [];
      this.values = [];
    }
    const k = this.channels.indexOf(channel);
    if (k >= 0) this.values[k] = value;
    else {
      this.channels.push(channel);
      this.values.push(value);
    }
    if (channel === this.lastChannel) this.lastValue = value;
  }

  get size(): number {
    return this.channels === null ? 0 : this.channels.length;
  }
}

/** Send-side numbers per channel: queued bytes and the next message ID. */
export class SendChannel {
  bytes = 0;
  nextMessageId = 0;
}
