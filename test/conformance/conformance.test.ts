// Runs the Go conformance client (written from docs/PROTOCOL.md alone) against the real server,
// one bun test per case so a failure names the case. See docs/CONFORMANCE.md.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, startServerProcess, type ServerProcess } from "../support/serverProcess.ts";
import { testWhenAvailable } from "../support/skip.ts";
import { ensureConformanceClientBuilt, findGo, runCase } from "./goClient.ts";

const go = findGo();
const spec = join(import.meta.dir, "../../docs/PROTOCOL.md");
const CASE_TIMEOUT_MS = 8_000;

/** Cases against one shared server, in this order. */
const sharedServerCases = [
  "vectors",
  "handshake",
  "handshake-repeat",
  "echo",
  "mode-reliable-ordered",
  "mode-reliable-unordered",
  "mode-unreliable",
  "mode-unreliable-sequenced",
  "mixed-modes",
  "fragmentation",
  "loss",
  "flow-control-window",
  "flow-control-max-data",
  "keepalive",
  "close-client",
  "bad-checksum",
  "short-datagram",
  "duplicate-packet",
  "unknown-frame",
  "unknown-version",
  "forged-cookie",
  "ack-unsent",
  "amplification",
  "initial-size",
];
/**
 * Cases where the server disagrees with PROTOCOL.md today (an open bug each, printed when it
 * runs). The test asserts the case still fails *that way*; once the server is fixed the case
 * passes and this test fails, saying to remove the entry.
 */
interface KnownDisagreement {
  why: string;
  failure: RegExp;
  /** Only with this server driver (the bug sits in one). */
  driver?: string;
}
const knownDisagreements: Record<string, KnownDisagreement> = {
  "unknown-frame": {
    why: "the server delivers a MESSAGE that precedes an unknown frame type in the same packet; PROTOCOL.md §4 says the whole packet is dropped (it is left unacknowledged, as written)",
    failure: /unknown frame was delivered/,
  },
  "short-datagram": {
    why: "the native driver counts only the first of several datagrams under 5 bytes in drops.truncated (the fallback driver counts each); PROTOCOL.md §2",
    failure: /drops\.truncated/,
    driver: "native",
  },
};

/** Cases that stop their own server. */
const ownServerCases = ["close-server", "server-full"];

async function startServer(extra: string[] = []): Promise<ServerProcess> {
  return startServerProcess(["--host", "127.0.0.1", "--port", "0", "--metrics-port", String(await freePort()), "--log-level", "info", ...extra]);
}

function caseArgs(server: ServerProcess, name: string): string[] {
  return ["-server", `127.0.0.1:${server.udpPort}`, "-metrics", server.metricsUrl, "-spec", spec, "-case", name];
}

function reportFailure(result: { exitCode: number; output: string }, server: ServerProcess): void {
  if (result.exitCode !== 0) throw new Error(`${result.output.trim()}\nserver output (tail):\n${server.output().slice(-2000)}`);
}

const goTest = testWhenAvailable(go === null ? "conformance client: Go is not installed (no `go` on PATH nor /usr/local/go/bin/go)" : null);

describe("conformance client (Go, from PROTOCOL.md)", () => {
  let binary = "";
  let server: ServerProcess | undefined;
  let driver = "";

  beforeAll(async () => {
    if (go === null) return;
    binary = ensureConformanceClientBuilt(go);
    server = await startServer();
    driver = ((await (await fetch(`${server.metricsUrl}/stats`)).json()) as { driver: string }).driver;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  goTest("the client's case list is the one this test runs", async () => {
    const listed = Bun.spawnSync([binary, "-list"]).stdout.toString().trim().split("\n").sort();
    expect(listed).toEqual([...sharedServerCases, ...ownServerCases].sort());
  });

  for (const name of sharedServerCases) {
    goTest(`case ${name}`, async () => {
      const result = await runCase(binary, caseArgs(server!, name), CASE_TIMEOUT_MS);
      console.log(result.line);
      const known = knownDisagreements[name];
      if (known && (known.driver === undefined || known.driver === driver)) {
        console.warn(`[known disagreement] ${name}: ${known.why}`);
        if (result.exitCode === 0) throw new Error(`case ${name} now passes: remove it from knownDisagreements in test/conformance/conformance.test.ts`);
        expect(result.line).toMatch(known.failure);
        return;
      }
      reportFailure(result, server!);
      expect(result.line.startsWith(`PASS ${name} `)).toBe(true);
    }, CASE_TIMEOUT_MS + 2_000);
  }

  // The client prints READY once connected; SIGTERM then must reach it as CLOSE(server-shutdown).
  goTest("case close-server", async () => {
    const own = await startServer();
    try {
      const result = await runCase(binary, caseArgs(own, "close-server"), CASE_TIMEOUT_MS, async (stdout) => {
        if (stdout.includes("READY")) await own.stop("SIGTERM");
      });
      console.log(result.line);
      reportFailure(result, own);
      expect(result.line.startsWith("PASS close-server ")).toBe(true);
    } finally {
      own.process.kill("SIGKILL");
    }
  }, CASE_TIMEOUT_MS + 17_000);

  goTest("case server-full (a server with --max-connections 1)", async () => {
    const own = await startServer(["--max-connections", "1"]);
    try {
      const result = await runCase(binary, caseArgs(own, "server-full"), CASE_TIMEOUT_MS);
      console.log(result.line);
      reportFailure(result, own);
      expect(result.line.startsWith("PASS server-full ")).toBe(true);
    } finally {
      await own.stop();
    }
  }, CASE_TIMEOUT_MS + 17_000);
});
