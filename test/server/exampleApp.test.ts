// The example application's echo under backpressure (issue 13, point 6): replies send() refuses
// wait in a bounded backlog, in order, reported to the memory budget (holdBytes), and leave on
// "drain"; past the bound they are dropped and counted. Driven through a scripted connection so
// that exactly when send() refuses is under the test's control.
import { expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { ECHO_BACKLOG_BYTES_MAX, installExampleApp } from "../../src/server/exampleApp.ts";
import type { RudpServer } from "../../src/server/server.ts";

class ScriptedConnection extends EventEmitter {
  closed = false;
  accepting = true;
  readonly sent: number[] = [];
  readonly held: number[] = [];
  send(_channel: number, data: Uint8Array): boolean {
    if (!this.accepting) return false;
    this.sent.push(data[0]!);
    return true;
  }
  holdBytes(bytes: number): void {
    this.held.push(bytes);
  }
}

function setUp() {
  const server = new EventEmitter();
  const counters = installExampleApp(server as unknown as RudpServer);
  const connection = new ScriptedConnection();
  server.emit("connection", connection);
  const message = (tag: number, length = 1000) => {
    const data = new Uint8Array(length);
    data[0] = tag;
    connection.emit("message", 0, data);
  };
  return { counters, connection, message };
}

test("echo: refused replies wait in order, are reported as held, and leave on drain", () => {
  const { counters, connection, message } = setUp();
  message(1);
  connection.accepting = false;
  message(2);
  message(3);
  expect(connection.sent).toEqual([1]);
  expect(connection.held).toEqual([1000, 2000]);
  connection.accepting = true;
  message(4); // behind the backlog: must not overtake 2 and 3
  expect(connection.sent).toEqual([1]);
  connection.emit("drain");
  expect(connection.sent).toEqual([1, 2, 3, 4]);
  expect(connection.held.at(-1)).toBe(0);
  expect(counters.echoRepliesDropped).toBe(0);
});

test("echo: the backlog is bounded; what does not fit is dropped and counted; a partial drain keeps the rest", () => {
  const { counters, connection, message } = setUp();
  connection.accepting = false;
  const fit = Math.floor(ECHO_BACKLOG_BYTES_MAX / 1000);
  for (let i = 0; i < fit + 50; i++) message(i & 0xff);
  expect(counters.echoRepliesDropped).toBe(50);
  expect(Math.max(...connection.held)).toBe(fit * 1000);
  let budget = 10;
  connection.send = (_channel: number, data: Uint8Array) => budget-- > 0 && connection.sent.push(data[0]!) > 0;
  connection.emit("drain");
  expect(connection.sent.length).toBe(10);
  expect(connection.held.at(-1)).toBe((fit - 10) * 1000);
});
