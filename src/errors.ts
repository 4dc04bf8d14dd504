// Errors a user of the library sees: a stable `code` to branch on and a message that says
// what went wrong and what to do about it. A leaf module (it imports nothing), so every
// layer may throw these, drivers included.

export type RudpErrorCode =
  | "ERR_INVALID_OPTION"
  | "ERR_ADDRESS_IN_USE"
  | "ERR_BIND_FAILED"
  | "ERR_NATIVE_UNAVAILABLE"
  | "ERR_CONNECTION_CLOSED"
  | "ERR_HANDSHAKE_TIMEOUT"
  | "ERR_CONNECT_FAILED"
  | "ERR_MESSAGE_TOO_LARGE"
  | "ERR_INVALID_CHANNEL"
  | "ERR_SERVER_NOT_LISTENING";

export class RudpError extends Error {
  readonly code: RudpErrorCode;
  /** For ERR_CONNECTION_CLOSED and ERR_CONNECT_FAILED: the protocol's close reason. */
  readonly reason?: string;

  constructor(code: RudpErrorCode, message: string, reason?: string) {
    super(message);
    this.name = "RudpError";
    this.code = code;
    this.reason = reason;
  }
}

/** The one message for a UDP port another socket holds, whichever driver tried to bind it. */
export function addressInUseError(host: string, port: number): RudpError {
  return new RudpError("ERR_ADDRESS_IN_USE", `UDP port ${port} on ${host} is already in use: stop the other process or choose another --port`);
}

/** A sentence for each close reason: why the connection ended and what to do. */
export function describeCloseReason(reason: string): string {
  switch (reason) {
    case "graceful":
      return "the connection was closed normally";
    case "aborted":
      return "the connection was aborted by the application";
    case "idle-timeout":
      return "nothing was heard from the peer within the idle timeout: the peer is gone or the path is down; reconnect when it is back";
    case "handshake-timeout":
      return "the handshake did not complete in time: check that a server listens at that address and that UDP is not blocked";
    case "protocol-violation":
      return "the peer broke the protocol (for example it acknowledged a packet never sent); the connection was closed to protect the endpoint";
    case "server-shutdown":
      return "the server is shutting down; reconnect later";
    case "server-full":
      return "the server has reached its connection limit; retry later or raise --max-connections";
    case "version-mismatch":
      return "the peer speaks another protocol version; upgrade one side";
    case "application":
      return "the peer's application closed the connection";
    case "internal-error":
      return "bun-rudp found its own connection state inconsistent (a bug, not your input) and closed this connection only; please report it with the engine's counters";
    case "stalled":
      return "data waited for the progress timeout while the peer acknowledged none of it (it stopped reading or acknowledging); the connection was closed to release what it held";
    case "memory-budget":
      return "the server stayed over its memory budget and this connection held among the most (for example a client that sends but does not read the replies); read faster, or raise --max-memory";
    default:
      return `the connection closed (${reason})`;
  }
}
