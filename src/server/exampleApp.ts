import type { RudpConnection } from "../runtime/rudpConnection.ts";
import type { RudpServer } from "./server.ts";

/** Messages on this channel go to every connected client; all others echo back. */
export const BROADCAST_CHANNEL = 1;
/** Echo replies held per connection while its send buffer is full, before replies are dropped. */
const ECHO_BACKLOG_BYTES_MAX = 1 << 20;

export interface ExampleAppCounters {
  /** Room messages a member missed because its send buffer was full. */
  roomMessagesDropped: number;
  /** Echo replies dropped because the backlog of a slow reader was over its limit. */
  echoRepliesDropped: number;
}

/**
 * The application `bun run server` runs: echo on every channel, and a broadcast room on
 * channel 1. Echo replies that do not fit the send buffer wait in a bounded backlog and go
 * out on "drain"; a room is best effort per member (a slow member misses messages, counted).
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
  }

  flush(): void {
    while (this.queue.length > 0 && !this.connection.closed) {
      const next = this.queue[0]!;
      if (!this.connection.send(next.channel, next.data)) return;
      this.queue.shift();
      this.bytes -= next.data.length;
    }
  }
}
