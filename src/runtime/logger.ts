import pino from "pino";

export type Logger = pino.Logger;

/** Structured JSON logs (pino) on stdout, one line per event. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
