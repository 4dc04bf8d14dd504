// CloseReason <-> the one-byte reason code carried in CLOSE frames and REJECT packets.
import type { CloseReason } from "../api.ts";

export const CLOSE_REASONS: readonly CloseReason[] = [
  "graceful",
  "aborted",
  "idle-timeout",
  "handshake-timeout",
  "protocol-violation",
  "server-shutdown",
  "server-full",
  "version-mismatch",
  "application",
  "internal-error",
  "stalled",
  "memory-budget",
  "encryption-required", // 12
  "encryption-unsupported", // 13
  "server-key-mismatch", // 14 (never on the wire: the client ends its own attempt)
];

export function closeReasonCode(reason: CloseReason): number {
  const code = CLOSE_REASONS.indexOf(reason);
  return code < 0 ? CLOSE_REASONS.indexOf("application") : code;
}

/** Unknown codes from the wire read as "protocol-violation" rather than failing. */
export function closeReasonFromCode(code: number): CloseReason {
  return CLOSE_REASONS[code] ?? "protocol-violation";
}
