// Starts the real `bun run server` entry (src/server/cli.ts) as a child process on loopback and
// waits for its "listening on udp://..." log line.
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "..", "..");
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 6_000;
/** Log lines kept for the failure message; older ones are dropped. */
const LOG_LINES_KEPT_MAX = 40;

export interface RunningServer {
  /** The UDP port (0 with --workers and --port 0: each worker then has its own). */
  udpPort: number;
  metricsUrl: string;
  pid: number;
  /** The last log lines (stdout and stderr), for failure messages. */
  log(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after STOP_TIMEOUT_MS); resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a tiny race before reuse is accepted). */
export function freeTcpPort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** A UDP port free on 127.0.0.1 right now (for --workers, which share one port). */
export async function freeUdpPort(): Promise<number> {
  const probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = probe.port;
  probe.close();
  return port;
}

async function collectLines(stream: ReadableStream<Uint8Array>, lines: string[], onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      lines.push(line);
      if (lines.length > LOG_LINES_KEPT_MAX) lines.shift();
      onLine(line);
    }
  }
}

function childEnvironment(): Record<string, string> {
  // RUDP_* settings from the caller's shell must not change what the test starts.
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith("RUDP_")) env[key] = value;
  return env;
}

export interface RealServerOptions {
  /** 0: any free port (with workers > 1 each worker then gets its own). */
  udpPort?: number;
  workers?: number;
}

export async function startRealServer(metricsPort: number, options: RealServerOptions = {}): Promise<RunningServer> {
  const workers = options.workers ?? 1;
  const child: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(
    [
      process.execPath, "src/server/cli.ts",
      "--host", "127.0.0.1", "--port", String(options.udpPort ?? 0),
      "--metrics-host", "127.0.0.1", "--metrics-port", String(metricsPort),
      "--workers", String(workers),
    ],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: childEnvironment() },
  );
  const lines: string[] = [];
  const log = () => lines.join("\n");
  // With --workers the primary's "N workers share udp://..." line comes once every worker
  // listens and the aggregate metrics port is up; without, the one "listening on" line.
  const ready = workers > 1 ? /workers share udp:\/\/[^\s]*:(\d+)/ : /listening on udp:\/\/[^\s]*:(\d+)/;
  const listening = new Promise<number>((resolve) => {
    const onLine = (line: string) => {
      const match = ready.exec(line);
      if (match) resolve(Number(match[1]));
    };
    void collectLines(child.stdout, lines, onLine);
    void collectLines(child.stderr, lines, () => {});
  });
  const udpPort = await Promise.race([
    listening,
    child.exited.then((code) => Promise.reject(new Error(`server exited with ${code} before listening:\n${log()}`))),
    Bun.sleep(START_TIMEOUT_MS).then(() => Promise.reject(new Error(`server did not say "listening" in ${START_TIMEOUT_MS} ms:\n${log()}`))),
  ]).catch((error) => {
    child.kill("SIGKILL");
    throw error;
  });
  return {
    udpPort,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    pid: child.pid,
    log,
    async stop() {
      child.kill("SIGTERM");
      const exited = await Promise.race([child.exited, Bun.sleep(STOP_TIMEOUT_MS).then(() => "timeout" as const)]);
      if (exited !== "timeout") return exited;
      child.kill("SIGKILL");
      await child.exited;
      return null;
    },
  };
}
