// The endpoint's deadline heap: earliest first, stale entries skipped, rebuilt when they pile up.
import { expect, test } from "bun:test";
import { TimerHeap, type TimerOwner } from "../../src/protocol/timerHeap.ts";

class Owner implements TimerOwner {
  timerVersion = 0;
  timerDirty = false;
  finished = false;
  constructor(public deadlineUs: number) {}
  nextDeadlineUs(): number {
    return this.deadlineUs;
  }
  isFinished(): boolean {
    return this.finished;
  }
}

test("pops due owners in deadline order, once each, and follows re-arming", () => {
  const heap = new TimerHeap<Owner>();
  const owners = [50, 10, 40, 20, 30, Infinity].map((d) => new Owner(d));
  for (const o of owners) heap.markDirty(o);
  heap.refresh(owners);
  expect(heap.peek()).toBe(10);
  owners[1].deadlineUs = 45; // re-armed later
  heap.markDirty(owners[1]);
  heap.refresh(owners);
  expect(heap.peek()).toBe(20);
  owners[2].finished = true; // a removed connection is skipped
  const popped: number[] = [];
  for (let o = heap.popDue(46); o !== null; o = heap.popDue(46)) popped.push(o.deadlineUs);
  expect(popped).toEqual([20, 30, 45]);
  expect(heap.peek()).toBe(50);
});

test("stale entries do not grow without bound", () => {
  const heap = new TimerHeap<Owner>();
  const owners = Array.from({ length: 100 }, (_, i) => new Owner(i + 1));
  for (let round = 0; round < 200; round++) {
    for (const o of owners) {
      o.deadlineUs += 1;
      heap.markDirty(o);
    }
    heap.refresh(owners);
  }
  expect(heap.size).toBeLessThanOrEqual(4 * owners.length + 1024 + owners.length);
  expect(heap.peek()).toBe(201);
});
