// Starts `bun src/server/cli.ts` as a child process for end-to-end tests and reads the
// ports it reports from its start-up log line.
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

export interface ServerProcess {
  process: ReturnType<typeof Bun.spawn>;
  udpPort: number;
  metricsUrl: string;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number>;
}

export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

/** Waits up to `timeoutMs` for the "listening"/"workers share" line; throws with the output otherwise. */
export async function startServerProcess(args: string[], timeoutMs = 15_000): Promise<ServerProcess> {
  const child = Bun.spawn([process.execPath, join(root, "src/server/cli.ts"), ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, RUDP_SKIP_NATIVE_BUILD: "1" },
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  void pump(child.stdout as ReadableStream<Uint8Array>);
  void pump(child.stderr as ReadableStream<Uint8Array>);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = text.split("\n").find((l) => l.includes('"udp"') && l.includes('"metrics"') && !l.includes('"worker":'));
    if (line) {
      const record = JSON.parse(line);
      return {
        process: child,
        udpPort: record.udp.port,
        metricsUrl: record.metrics,
        output: () => text,
        stop: async (signal = "SIGTERM") => {
          child.kill(signal);
          return child.exited;
        },
      };
    }
    if (child.exitCode !== null || performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start (exit ${child.exitCode}); output:\n${text}`);
    }
    await Bun.sleep(20);
  }
}

export function runCli(args: string[]): { exitCode: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([process.execPath, join(root, "src/server/cli.ts"), ...args], { cwd: root, timeout: 15_000, env: { ...process.env, RUDP_SKIP_NATIVE_BUILD: "1" } });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}
