// The KCP engine: wire-compatible with ikcp and kcp-go's plain mode, behind the Engine contract.
export { createKcpEngine, type KcpEngine, type KcpEngineDependencies } from "./endpoint.ts";
export { defaultKcpConfig, fastKcpTuning, KcpConfigError, maxMessageBytes as kcpMaxMessageBytes, type KcpEngineConfig, type KcpTuning } from "./config.ts";
export type { KcpCounters } from "./counters.ts";
