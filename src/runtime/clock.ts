// The one clock of the runtime: monotonic microseconds. The protocol engine never reads it;
// the runtime passes its value in.
export function nowUs(): number {
  return performance.now() * 1000;
}
