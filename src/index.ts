// bun-rudp: reliable UDP for Bun. The package root: everything an application needs.
export { createServer, RudpServer, DEFAULT_PORT } from "./server/server.ts";
export type { ServerEvents } from "./server/server.ts";
export { connect } from "./client/client.ts";
export type { ConnectOptions } from "./client/client.ts";
export { RudpConnection } from "./runtime/connection.ts";
export type { CloseInfo, ConnectionEvents } from "./runtime/connection.ts";
export { RudpError, describeCloseReason } from "./runtime/errors.ts";
export type { RudpErrorCode } from "./runtime/errors.ts";
export type { EndpointOptions, ServerOptions } from "./runtime/options.ts";
export type { CongestionControlName, DeliveryMode, CloseReason, ConnectionStats } from "./protocol/api.ts";
