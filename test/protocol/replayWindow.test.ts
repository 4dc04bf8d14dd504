// The replay window of docs/PROTOCOL.md §9.5 against a plain Set model, on a seeded random
// walk of packet numbers (reordered, duplicated, far jumps).
import { expect, test } from "bun:test";
import { REPLAY_WINDOW_PACKETS, ReplayWindow, type ReplayVerdict } from "../../src/protocol/crypto/replayWindow.ts";

function model(seen: Set<number>, highest: number, n: number): ReplayVerdict {
  if (n > highest) return "fresh";
  if (highest - n >= REPLAY_WINDOW_PACKETS) return "too-old";
  return seen.has(n) ? "duplicate" : "fresh";
}

test("verdicts match a set of every accepted number (seeded walk)", () => {
  const seed = 1515;
  console.log(`replayWindow.test.ts: seed ${seed}`);
  let state = seed;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const window = new ReplayWindow();
  const seen = new Set<number>();
  let highest = -1;
  let base = 0;
  const counts = { fresh: 0, duplicate: 0, "too-old": 0 };
  for (let step = 0; step < 20_000; step++) {
    const r = random();
    base += r < 0.01 ? Math.floor(random() * 3000) : r < 0.6 ? 1 : 0;
    const n = Math.max(0, base - Math.floor(random() * 1100) * (random() < 0.3 ? 1 : 0));
    const expected = model(seen, highest, n);
    expect(window.check(n)).toBe(expected);
    counts[expected]++;
    if (expected === "fresh") {
      window.accept(n);
      seen.add(n);
      highest = Math.max(highest, n);
    }
  }
  expect(counts.fresh).toBeGreaterThan(1000);
  expect(counts.duplicate).toBeGreaterThan(100);
  expect(counts["too-old"]).toBeGreaterThan(10);
});

test("the first packet, an exact replay, and the window's edge", () => {
  const window = new ReplayWindow();
  expect(window.check(0)).toBe("fresh");
  window.accept(0);
  expect(window.check(0)).toBe("duplicate");
  window.accept(REPLAY_WINDOW_PACKETS);
  expect(window.check(0)).toBe("too-old");
  expect(window.check(1)).toBe("fresh");
  expect(window.check(REPLAY_WINDOW_PACKETS)).toBe("duplicate");
});
