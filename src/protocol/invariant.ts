// Loud failure for the engine's own bugs. An invariant is something the engine guarantees
// whatever the network sends (bytes in flight equal the packets in flight, packet numbers in
// order, windows within their bounds, queues within their limits); a broken one is a bug in
// bun-rudp, never bad input. Under tests and the simulator (EngineConfig.strictInvariants)
// the violation throws to the caller, so the seed that found it fails at once; in production
// the endpoint closes only the connection concerned with "internal-error" and counts it
// (counters.invariantViolations), and every other connection carries on.

export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

/** Throws InvariantViolation when `condition` is false; `what` names the broken invariant. */
export function invariant(condition: boolean, what: string): asserts condition {
  if (!condition) invariantFailed(what);
}

/** The hot-path form: `if (bad) invariantFailed(\`...\`)` builds the message only on failure
 *  (a closure or template argument to invariant() would be made on every call). */
export function invariantFailed(what: string): never {
  throw new InvariantViolation(`engine invariant broken: ${what} (a bug in bun-rudp, not in your input: please report it with how to reproduce)`);
}
