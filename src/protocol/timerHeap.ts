// The engine's connection deadlines as a binary min-heap with lazy deletion: a connection
// touched since the last poll gets its deadline recomputed and pushed with a new version;
// older entries of it are skipped when they reach the top. pollTimeout() is then O(touched
// log n) instead of a scan of every connection.

export interface TimerOwner {
  timerVersion: number;
  timerDirty: boolean;
  nextDeadlineUs(): number;
  isFinished(): boolean;
}

export class TimerHeap<T extends TimerOwner> {
  private deadlines: number[] = [];
  private owners: T[] = [];
  private versions: number[] = [];
  private readonly dirty: T[] = [];

  get size(): number {
    return this.deadlines.length;
  }

  markDirty(owner: T): void {
    if (owner.timerDirty) return;
    owner.timerDirty = true;
    this.dirty.push(owner);
  }

  /** Re-arms every touched owner; rebuilds the heap when stale entries pile up. */
  refresh(liveOwners: readonly T[]): void {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const owner = dirty[i];
      owner.timerDirty = false;
      owner.timerVersion++;
      if (owner.isFinished()) continue;
      const deadline = owner.nextDeadlineUs();
      if (deadline !== Infinity) this.push(deadline, owner, owner.timerVersion);
    }
    dirty.length = 0;
    if (this.deadlines.length > 4 * liveOwners.length + 1024) this.rebuild(liveOwners);
  }

  /** The earliest valid deadline, or Infinity. Call refresh() first. */
  peek(): number {
    this.dropStale();
    return this.deadlines.length === 0 ? Infinity : this.deadlines[0];
  }

  /** Removes and returns the owner of the earliest valid deadline if it is <= nowUs. */
  popDue(nowUs: number): T | null {
    this.dropStale();
    if (this.deadlines.length === 0 || this.deadlines[0] > nowUs) return null;
    const owner = this.owners[0];
    this.removeTop();
    owner.timerVersion++; // its remaining entries are stale until it is re-armed
    return owner;
  }

  private dropStale(): void {
    while (this.deadlines.length > 0 && (this.versions[0] !== this.owners[0].timerVersion || this.owners[0].isFinished())) {
      this.removeTop();
    }
  }

  private rebuild(liveOwners: readonly T[]): void {
    this.deadlines = [];
    this.owners = [];
    this.versions = [];
    for (const owner of liveOwners) {
      owner.timerVersion++;
      const deadline = owner.nextDeadlineUs();
      if (deadline !== Infinity) this.push(deadline, owner, owner.timerVersion);
    }
  }

  private push(deadline: number, owner: T, version: number): void {
    const d = this.deadlines;
    let i = d.length;
    d.push(deadline);
    this.owners.push(owner);
    this.versions.push(version);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent] <= d[i]) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private removeTop(): void {
    const d = this.deadlines;
    const last = d.length - 1;
    this.swap(0, last);
    d.pop();
    this.owners.pop();
    this.versions.pop();
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < d.length && d[left] < d[smallest]) smallest = left;
      if (right < d.length && d[right] < d[smallest]) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const d = this.deadlines;
    const o = this.owners;
    const v = this.versions;
    const td = d[a];
    d[a] = d[b];
    d[b] = td;
    const to = o[a];
    o[a] = o[b];
    o[b] = to;
    const tv = v[a];
    v[a] = v[b];
    v[b] = tv;
  }
}
