import type { RudpConnection } from "../runtime/rudpConnection.ts";
import type { RudpServer } from "./server.ts";

/** Messages on this channel go to every connected client; all others echo back. */
export const BROADCAST_CHANNEL = 1;
/** Echo replies held per connection while send() refuses (its buffer or the server's memory
 *  budget is full), before replies are dropped. Reported to the budget with holdBytes. */
export const ECHO_BACKLOG_BYTES_MAX = 256 * 1024;

export interface ExampleAppCounters {
  /** Room messages a member missed because its send buffer was full. */
  roomMessagesDropped: number;
  /** Echo replies dropped because the backlog of a slow reader was over its limit. */
  echoRepliesDropped: number;
}

/**
 * The application `bun run server` runs: echo on every channel, and a broadcast room on
 * channel 1. Echo replies that send() refuses wait in a bounded backlog, in order, and go out
 * on "drain"; the backlog counts in the server's memory budget (so a peer that never reads is
 * among the first closed when it stays exceeded). A room is best effort per member (a slow
 * member misses messages, counted).
 */
export function installExampleApp(server: RudpServer): ExampleAppCounters {
  const counters: ExampleAppCounters = { roomMessagesDropped: 0, echoRepliesDropped: 0 };
  const room = new Set<RudpConnection>();
  server.on("connection", (connection) => {
    room.add(connection);
    const backlog = new EchoBacklog(connection, counters);
    connection.on("message", (channel, data) => {
      if (channel !== BROADCAST_CHANNEL) return backlog.echo(channel, data);
      for (const member of room) {
        if (member.closed || !member.send(channel, data)) counters.roomMessagesDropped++;
      }
    });
    connection.on("drain", () => backlog.flush());
    connection.on("close", () => room.delete(connection));
  });
  return counters;
}

class EchoBacklog {
  private readonly queue: { channel: number; data: Uint8Array }[] = [];
  private bytes = 0;

  constructor(
    private readonly connection: RudpConnection,
    private readonly counters: ExampleAppCounters,
  ) {}

  echo(channel: number, data: Uint8Array): void {
    if (this.queue.length === 0 && this.connection.send(channel, data)) return;
    if (this.bytes + data.length > ECHO_BACKLOG_BYTES_MAX) {
      this.counters.echoRepliesDropped++;
      return;
    }
    this.queue.push({ channel, data: data.slice() }); // the view dies after this call
    this.bytes += data.length;
    this.connection.holdBytes(this.bytes);
  }

  flush(): void {
    const held = this.bytes;
    let sent = 0;
    while (sent < this.queue.length && !this.connection.closed) {
      const next = this.queue[sent]!;
      if (!this.connection.send(next.channel, next.data)) break;
      this.bytes -= next.data.length;
      sent++;
    }
    if (sent > 0) this.queue.splice(0, sent); // one splice, not a shift per reply
    if (this.bytes !== held) this.connection.holdBytes(this.bytes);
  }
}
