// bun-rudp: reliable UDP for Bun. The package root: everything an application needs.
export { createServer, RudpServer, DEFAULT_PORT } from "./server/server.ts";
export type { ServerEvents } from "./server/server.ts";
export { connect } from "./client/client.ts";
export type { ConnectOptions } from "./client/client.ts";
export { RudpConnection } from "./runtime/rudpConnection.ts";
export type { CloseInfo, ConnectionEvents } from "./runtime/rudpConnection.ts";
export { RudpError, describeCloseReason } from "./errors.ts";
export type { RudpErrorCode } from "./errors.ts";
export type { RudpOptions, ServerOptions } from "./runtime/options.ts";
export type { CongestionControlName, DeliveryMode, CloseReason, ConnectionStats } from "./protocol/api.ts";
export { nativeStatus } from "./native/index.ts";
export type { NativeLoadStatus, NativeLibraryOrigin } from "./native/index.ts";
