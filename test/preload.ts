// Runs once before `bun test`: rebuilds the native library when a Zig source is newer.
import { buildNative } from "../scripts/build-native.ts";

if (process.env.RUDP_SKIP_NATIVE_BUILD !== "1") buildNative();
