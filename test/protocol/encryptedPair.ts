// An encrypted Pair (docs/PROTOCOL.md §9): both engines get the AEAD backend through their
// dependencies, as the runtime gives them; `backend` picks native (when loaded) or node:crypto.
import type { EngineConfig } from "../../src/protocol/index.ts";
import { engineCrypto, nativeAead, typeScriptAead, type AeadBackend } from "../../src/native/index.ts";
import { Pair } from "./pair.ts";

export const backends: [string, AeadBackend][] = [["typescript", typeScriptAead], ...(nativeAead ? [["native", nativeAead] as [string, AeadBackend]] : [])];

export function encryptedPair(serverConfig: Partial<EngineConfig> = {}, clientConfig: Partial<EngineConfig> = {}, seed = 1,
    backend: AeadBackend = nativeAead ?? typeScriptAead): Pair {
  const crypto = engineCrypto(backend);
  return new Pair({ encryption: true, ...serverConfig }, { encryption: true, ...clientConfig }, seed, { server: { crypto }, client: { crypto } });
}
