// Public entry of the sans-IO protocol engine.
import type { Engine, EngineConfig, EngineDependencies } from "./api.ts";
import { Endpoint } from "./endpoint.ts";

export * from "./api.ts";
export { defaultEngineConfig } from "./config.ts";
export type { ConnectOptions } from "./endpoint.ts";

export function createEngine(config: Partial<EngineConfig>, deps: EngineDependencies): Engine {
  return new Endpoint(config, deps);
}
