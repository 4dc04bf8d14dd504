// A binary min-heap of (due time, item) used by the impairment proxy: one heap and one armed
// setTimeout for the earliest due time, instead of a timer per delayed packet.
// Bounded: push() refuses past `capacity` and the caller counts the refusal.

export class DueHeap<T> {
  private readonly dueUs: number[] = [];
  private readonly items: T[] = [];
  // Insertion order breaks ties so equal due times leave in arrival order (no spurious reordering).
  private readonly order: number[] = [];
  private nextOrder = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.dueUs.length;
  }

  peekDueUs(): number {
    return this.dueUs.length === 0 ? Infinity : this.dueUs[0];
  }

  push(dueUs: number, item: T): boolean {
    if (this.dueUs.length >= this.capacity) return false;
    this.dueUs.push(dueUs);
    this.items.push(item);
    this.order.push(this.nextOrder++);
    this.siftUp(this.dueUs.length - 1);
    return true;
  }

  /** Removes and returns the earliest item; undefined when empty. */
  pop(): T | undefined {
    const count = this.dueUs.length;
    if (count === 0) return undefined;
    const top = this.items[0];
    const lastDue = this.dueUs.pop()!;
    const lastItem = this.items.pop()!;
    const lastOrder = this.order.pop()!;
    if (count > 1) {
      this.dueUs[0] = lastDue;
      this.items[0] = lastItem;
      this.order[0] = lastOrder;
      this.siftDown(0);
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const da = this.dueUs[a];
    const db = this.dueUs[b];
    return da < db || (da === db && this.order[a] < this.order[b]);
  }

  private swap(a: number, b: number): void {
    const d = this.dueUs[a];
    this.dueUs[a] = this.dueUs[b];
    this.dueUs[b] = d;
    const i = this.items[a];
    this.items[a] = this.items[b];
    this.items[b] = i;
    const o = this.order[a];
    this.order[a] = this.order[b];
    this.order[b] = o;
  }

  private siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.less(child, parent)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(index: number): void {
    const count = this.dueUs.length;
    let parent = index;
    for (;;) {
      const left = parent * 2 + 1;
      if (left >= count) break;
      const right = left + 1;
      const smaller = right < count && this.less(right, left) ? right : left;
      if (!this.less(smaller, parent)) break;
      this.swap(smaller, parent);
      parent = smaller;
    }
  }
}
