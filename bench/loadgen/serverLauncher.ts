// Starts the server of a system under test as a child process on loopback and tells where it
// listens. Peers print {"listening":{"host","port"}} on their first stdout line; the bun-rudp
// server is given its ports and is ready when GET /stats answers.

import type { Subprocess } from "bun";
import { join } from "node:path";
import { descendantsOf } from "./processStats.ts";
import { ensureKcpPeerBuilt } from "./systems/kcp.ts";
import type { SystemName } from "./systems/types.ts";

export const repositoryRoot = join(import.meta.dir, "../..");

export interface LaunchedServer {
  host: string;
  port: number;
  pid: number;
  metricsPort: number | null;
  stop(): Promise<unknown>;
}

const startTimeoutMs = 15_000;

/** Reads newline-delimited JSON from a child's stdout, one callback per line. */
export async function readJsonLines(stream: ReadableStream<Uint8Array>, onLine: (value: Record<string, unknown>) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line.startsWith("{")) {
        try {
          onLine(JSON.parse(line));
        } catch {
          // A line that is not JSON is someone's log output: ignore it.
        }
      }
      newline = pending.indexOf("\n");
    }
  }
}

/** Keeps reading a child's stderr so it never blocks on a full pipe; remembers the last bytes. */
export function keepStreamTail(stream: ReadableStream<Uint8Array>, maxChars = 4000): { text(): string } {
  let tail = "";
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of stream) tail = (tail + decoder.decode(chunk, { stream: true })).slice(-maxChars);
    } catch {
      // The child went away: keep what we have.
    }
  })();
  return { text: () => tail.trim() };
}

/** Children this process started (servers, proxies, workers): killed if we are told to stop. */
const trackedChildren = new Set<number>();

export function trackChild(pid: number): void {
  trackedChildren.add(pid);
}

/** On SIGTERM/SIGINT, take the spawned process trees down with us instead of orphaning them. */
export function killChildrenOnSignal(): void {
  const stop = () => {
    for (const pid of trackedChildren) killTree(pid);
    process.exit(130);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** SIGKILLs a child and every process below it (a server's workers outlive a killed primary). */
export function killTree(rootPid: number): void {
  for (const pid of descendantsOf(rootPid).reverse()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** A free loopback port (bound then released: another process could take it in between). */
export async function freePort(host: string, protocol: "udp" | "tcp"): Promise<number> {
  if (protocol === "udp") {
    const socket = await Bun.udpSocket({ hostname: host, port: 0 });
    const port = socket.port;
    socket.close();
    return port;
  }
  const listener = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function peerCommand(system: SystemName, host: string): string[] {
  switch (system) {
    case "udp":
      return [process.execPath, join(repositoryRoot, "bench/peers/udp-echo.ts"), "--host", host, "--port", "0"];
    case "tcp":
      return [process.execPath, join(repositoryRoot, "bench/peers/tcp-echo.ts"), "--host", host, "--port", "0"];
    case "kcp":
      return [ensureKcpPeerBuilt(), "server", "-addr", `${host.includes(":") ? `[${host}]` : host}:0`];
    default:
      throw new Error(`${system} is not a peer`);
  }
}

async function stopChild(child: Subprocess<"ignore", "pipe", "pipe">, lines: Record<string, unknown>[]): Promise<unknown> {
  const tree = descendantsOf(child.pid);
  child.kill("SIGTERM");
  const exited = await Promise.race([child.exited, Bun.sleep(5000).then(() => null)]);
  if (exited === null) killTree(child.pid);
  // Workers of a multi-process server must not outlive it.
  for (const pid of tree.slice(1)) {
    try {
      process.kill(pid, 0);
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone, as it should be.
    }
  }
  await Bun.sleep(20); // let the last stdout line through the reader
  return lines.find((line) => "counters" in line)?.counters ?? null;
}

async function launchPeer(system: SystemName, host: string): Promise<LaunchedServer> {
  const child = Bun.spawn(peerCommand(system, host), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  trackChild(child.pid);
  const stderr = keepStreamTail(child.stderr);
  const lines: Record<string, unknown>[] = [];
  let resolveListening: (value: { host: string; port: number }) => void;
  const listening = new Promise<{ host: string; port: number }>((resolve) => (resolveListening = resolve));
  void readJsonLines(child.stdout, (line) => {
    lines.push(line);
    if (typeof line.listening === "object" && line.listening !== null) resolveListening(line.listening as { host: string; port: number });
  });
  const address = await Promise.race([listening, child.exited.then(() => null), Bun.sleep(startTimeoutMs).then(() => null)]);
  if (address === null) {
    killTree(child.pid);
    throw new Error(`${system} peer did not start: ${stderr.text().slice(-500)}`);
  }
  return { host: address.host, port: address.port, pid: child.pid, metricsPort: null, stop: () => stopChild(child, lines) };
}

/** GET /stats: the JSON, "error" when the server answered but not with stats, null when it did not answer. */
export async function fetchRudpStatsOrError(host: string, metricsPort: number): Promise<Record<string, any> | "error" | null> {
  try {
    const response = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${metricsPort}/stats`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return "error";
    return (await response.json()) as Record<string, any>;
  } catch (error) {
    return (error as Error).name === "SyntaxError" ? "error" : null;
  }
}

export async function fetchRudpStats(host: string, metricsPort: number): Promise<Record<string, any> | null> {
  const stats = await fetchRudpStatsOrError(host, metricsPort);
  return stats === "error" ? null : stats;
}

async function launchRudp(system: SystemName, host: string, serverWorkers: number): Promise<LaunchedServer> {
  const port = await freePort(host, "udp");
  const metricsPort = await freePort(host, "tcp");
  const driver = system === "rudp-native" ? "native" : "fallback";
  const command = [process.execPath, join(repositoryRoot, "src/server/cli.ts"), "--host", host, "--port", String(port), "--driver", driver, "--metrics-port", String(metricsPort)];
  if (serverWorkers > 1) command.push("--workers", String(serverWorkers));
  const child = Bun.spawn(command, { cwd: repositoryRoot, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  trackChild(child.pid);
  void readJsonLines(child.stdout, () => {});
  const stderr = keepStreamTail(child.stderr);
  const deadlineMs = performance.now() + startTimeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (performance.now() < deadlineMs && !exited) {
    // Any HTTP answer means the server is up; a broken /stats only costs us its figures.
    if ((await fetchRudpStatsOrError(host, metricsPort)) !== null) {
      return { host, port, pid: child.pid, metricsPort, stop: () => stopChild(child, []) };
    }
    await Bun.sleep(100);
  }
  killTree(child.pid);
  throw new Error(`bun-rudp server did not answer /stats within ${startTimeoutMs} ms: ${stderr.text().slice(-800)}`);
}

export function launchServer(system: SystemName, host: string, serverWorkers: number): Promise<LaunchedServer> {
  return system.startsWith("rudp") ? launchRudp(system, host, serverWorkers) : launchPeer(system, host);
}
