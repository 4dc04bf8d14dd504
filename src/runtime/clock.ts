// The one clock of the runtime: monotonic microseconds. The protocol engine never reads it;
// the runtime passes its value in. Whole microseconds: engine time is an integer
// (src/protocol/invariant.ts; a fractional time once livelocked a timer, test/sim/FINDINGS.md).
export function nowUs(): number {
  return Math.floor(performance.now() * 1000);
}
