// The SPSC ring seen from TypeScript: a Zig producer thread pushes sequence numbers
// through a small ring many times around while TS drains it through views, exactly as
// NativeReceiver.drain does (Atomics.load of tail, Atomics.store of head).
import { expect, test } from "bun:test";
import { type Pointer, toArrayBuffer } from "bun:ffi";
import { udpNative } from "../../src/native/udp.ts";

test("ring wraps around thousands of times under a producer thread; sequence numbers intact", async () => {
  const native = udpNative();
  const capacity = 64;
  const out = new BigUint64Array(1);
  expect(native.rudp_ring_create(capacity, out)).toBe(0);
  const ringAddress = Number(out[0]);
  const words = new Uint32Array(toArrayBuffer(ringAddress as Pointer, 0, Number(native.rudp_ring_bytes(capacity))));
  expect(words[48]).toBe(capacity); // header line: capacity, descriptor bytes
  expect(words[49]).toBe(32);
  const count = 200_000;
  const handle = new BigUint64Array(1);
  expect(native.rudp_ring_test_producer_start(ringAddress, count, handle)).toBe(0);
  let head = 0;
  let expected = 0;
  let wrong = 0;
  const deadline = performance.now() + 20_000;
  for (let round = 0; round < 10_000_000 && expected < count && performance.now() < deadline; round++) {
    const tail = Atomics.load(words, 16);
    const available = (tail - head) >>> 0;
    for (let i = 0; i < available; i++) {
      const word = 64 + ((head + i) & (capacity - 1)) * 8;
      if (words[word] !== expected || words[word + 1] !== (~expected >>> 0)) wrong++;
      expected++;
    }
    head = (head + available) >>> 0;
    Atomics.store(words, 0, head);
    if (available === 0 && round % 64 === 63) await Bun.sleep(0); // let the producer run on 2 cores
  }
  const fullSpins = native.rudp_ring_test_producer_join(Number(handle[0]));
  expect(expected).toBe(count);
  expect(wrong).toBe(0);
  expect(Atomics.load(words, 16)).toBe(count);
  console.log(`ring: ${count} items through ${capacity} slots (${count / capacity} wraps), producer found it full ${fullSpins} times`);
  expect(native.rudp_ring_destroy(ringAddress)).toBe(0);
});

test("ring refuses capacities that are not powers of two", () => {
  const out = new BigUint64Array(1);
  expect(udpNative().rudp_ring_create(48, out)).toBeLessThan(0);
  expect(udpNative().rudp_ring_create(1, out)).toBeLessThan(0);
});
