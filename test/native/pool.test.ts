// Native pool: offsets, exhaustion, double and invalid frees, counters, the slab view,
// and NUMA placement read back with get_mempolicy.
import { afterEach, expect, test } from "bun:test";
import { ptr } from "bun:ffi";
import { NativePool, NativeStatus, nodeOfAddress, numaTopology, poolClassBytes } from "../../src/native/index.ts";
import { testWhenAvailable } from "../support/skip.ts";

const created: NativePool[] = [];
function createPool(blocksPerClass: number[], numaNode?: number): NativePool {
  const pool = NativePool.create({ blocksPerClass, numaNode });
  created.push(pool);
  return pool;
}
afterEach(() => {
  for (const pool of created.splice(0)) pool.destroy();
});

test("alloc picks the smallest class that fits and offsets are cache-line aligned", () => {
  const pool = createPool([4, 4, 4, 4, 4, 4]);
  const expectedInUse = [0, 0, 0, 0, 0, 0];
  for (const size of [1, 64, 65, 256, 1000, 1024, 4096, 16000, 65536]) {
    const offset = pool.alloc(size);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset % 64).toBe(0);
    const classIndex = poolClassBytes.findIndex((bytes) => size <= bytes);
    expectedInUse[classIndex]!++;
    // The block came from exactly that class: its count rose by one, no other class moved.
    expect(pool.counters().map((counters) => counters.inUse)).toEqual(expectedInUse);
  }
  expect(expectedInUse).toEqual([2, 2, 2, 1, 1, 1]);
  expect(pool.alloc(65537)).toBe(NativeStatus.message_too_large);
});

test("exhaustion is a status and is counted; free makes the block reusable", () => {
  const pool = createPool([2, 0, 0, 0, 0, 0]);
  const first = pool.allocClass(0);
  const second = pool.allocClass(0);
  expect(new Set([first, second]).size).toBe(2);
  expect(pool.allocClass(0)).toBe(NativeStatus.pool_exhausted);
  expect(pool.alloc(10)).toBe(NativeStatus.pool_exhausted);
  expect(pool.allocClass(1)).toBe(NativeStatus.pool_exhausted); // class with 0 blocks
  expect(pool.free(first)).toBe(NativeStatus.ok);
  expect(pool.allocClass(0)).toBe(first);
  const counters = pool.counters()[0]!;
  expect(counters).toEqual({ blockBytes: 64, capacity: 2, inUse: 2, free: 0, highWater: 2, refused: 2, doubleFrees: 0, invalidFrees: 0 });
  expect(pool.counters()[1]!.refused).toBe(1);
});

test("double free and invalid offsets are statuses, counted, and change nothing", () => {
  const pool = createPool([2, 2, 0, 0, 0, 0]);
  const block = pool.allocClass(1);
  expect(pool.free(block)).toBe(NativeStatus.ok);
  expect(pool.free(block)).toBe(NativeStatus.double_free);
  expect(pool.free(block + 1)).toBe(NativeStatus.invalid_argument); // inside a block, not its start
  expect(pool.free(pool.slab.length + 4096)).toBe(NativeStatus.invalid_argument); // past the slab
  const counters = pool.counters()[1]!;
  expect(counters.doubleFrees).toBe(1);
  expect(counters.invalidFrees).toBe(1);
  expect(counters.inUse).toBe(0);
  expect(counters.highWater).toBe(1);
  // The double free did not push the block twice: only two distinct blocks come out.
  const a = pool.allocClass(1);
  const b = pool.allocClass(1);
  expect(a).not.toBe(b);
  expect(pool.allocClass(1)).toBe(NativeStatus.pool_exhausted);
});

test("blocks are writable through the slab view and do not overlap", () => {
  const pool = createPool([8, 8, 8, 8, 2, 2]);
  const blocks: Array<[number, number]> = [];
  for (let classIndex = 0; classIndex < poolClassBytes.length; classIndex++) {
    for (;;) {
      const offset = pool.allocClass(classIndex);
      if (offset < 0) break;
      blocks.push([offset, poolClassBytes[classIndex]!]);
    }
  }
  expect(blocks.length).toBe(36);
  blocks.forEach(([offset, bytes], i) => pool.slab.fill(i & 0xff, offset, offset + bytes));
  blocks.forEach(([offset, bytes], i) => {
    const view = pool.slab.subarray(offset, offset + bytes);
    expect(view.every((byte) => byte === (i & 0xff))).toBe(true);
  });
});

test("bad configurations are refused with invalid_argument", () => {
  expect(() => NativePool.create({ blocksPerClass: [1, 2, 3] })).toThrow(RangeError);
  expect(() => NativePool.create({ blocksPerClass: [0, 0, 0, 0, 0, 0] })).toThrow(/invalid_argument/);
  expect(() => NativePool.create({ blocksPerClass: [1, 0, 0, 0, 0, 0], numaNode: 64 })).toThrow(/invalid_argument/);
});

const mempolicyMissing = nodeOfAddress(ptr(new Uint8Array(4096))) === null ? "get_mempolicy is refused here: a pool's placement cannot be read back" : null;

testWhenAvailable(mempolicyMissing)("placement: mbind on the local node, and the reported node equals get_mempolicy's answer", () => {
  const pool = createPool([16, 16, 16, 16, 4, 4]);
  const placement = pool.placement();
  expect(placement.requestedNode).toBe(-1);
  expect(["ok", "placement_refused"]).toContain(placement.mbindStatus);
  const node = nodeOfAddress(ptr(pool.slab));
  expect(node).not.toBeNull();
  expect(placement.actualNode).toBe(node!);
  expect(placement.pagesChecked).toBeGreaterThan(1);
  if (placement.mbindStatus === "ok") {
    expect(placement.targetNode).toBe(node!);
    expect(placement.pagesOffNode).toBe(0);
  }
});

test("placement on an explicit node: node 0 exists everywhere", () => {
  const pool = createPool([4, 0, 0, 0, 0, 1], 0);
  const placement = pool.placement();
  expect(placement.requestedNode).toBe(0);
  expect(placement.targetNode).toBe(0);
  if (placement.mbindStatus === "ok") {
    expect(placement.actualNode).toBe(0);
    expect(nodeOfAddress(ptr(pool.slab))).toBe(0);
  } else {
    expect(placement.mbindStatus).toBe("placement_refused");
  }
  if (numaTopology().nodeCount === 1) expect(placement.actualNode).toBe(0);
});

test("all 16 handles can be used and a 17th pool is refused; destroy frees a handle", () => {
  // Other tests in this process may hold handles: take every free one until the refusal, which
  // must be out_of_memory (any other error fails the test instead of being swallowed).
  const pools: NativePool[] = [];
  let refusal: unknown = null;
  while (refusal === null && pools.length <= 16) {
    try {
      pools.push(createPool([1, 0, 0, 0, 0, 0]));
    } catch (error) {
      refusal = error;
    }
  }
  expect(String(refusal)).toMatch(/out_of_memory/);
  expect(pools.length).toBeGreaterThan(0);
  expect(pools.length).toBeLessThanOrEqual(16);
  const handles = pools.map((pool) => pool.handle);
  expect(new Set(handles).size).toBe(handles.length);
  for (const handle of handles) expect(handle >= 0 && handle < 16).toBe(true);
  expect(() => NativePool.create({ blocksPerClass: [1, 0, 0, 0, 0, 0] })).toThrow(/out_of_memory/);
  pools[0]!.destroy();
  const again = createPool([1, 0, 0, 0, 0, 0]);
  expect(again.handle).toBe(pools[0]!.handle);
});
