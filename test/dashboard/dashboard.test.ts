// The dashboard in a real headless Chromium: against the real server under a small load (the
// figures shown agree with /stats, charts fill, "disconnected" when the server stops, recovery
// when it comes back), and against a stand-in whose snapshot has every section non-empty.
// UPDATE_SCREENSHOT=1 also writes the screenshot to docs/dashboard.png (kept under 300 KB), after
// 20 s more of load so the charts have history (the test then takes about 20 s longer).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { connect, type RudpConnection } from "../../src/index.ts";
import type { StatsSnapshot } from "../../src/metrics/statsSchema.ts";
import { ensureChromium, launchChromium } from "./chromium.ts";
import { chartLastValues, FIGURE_SOURCES, parseShownNumber, readShown, waitFor, type ShownFigures } from "./pageProbe.ts";
import { freeTcpPort, freeUdpPort, startRealServer, type RunningServer } from "./realServer.ts";
import { startStandInMetricsServer } from "./standInStats.ts";

const SCREENSHOT_TEMP_PATH = join(tmpdir(), "bun-rudp-dashboard.png");
const SCREENSHOT_DOCS_PATH = join(import.meta.dir, "..", "..", "docs", "dashboard.png");
const SCREENSHOT_BYTES_MAX = 300 * 1024;
const VIEWPORT = { width: 1280, height: 900 };
const SCREENSHOT_HISTORY_MS = 20_000;

// Load: a few clients, each sending a small message every few milliseconds, bounded in count.
const LOAD_CLIENTS = 3;
const LOAD_INTERVAL_MS = 10;
const LOAD_MESSAGE_BYTES = 200;
const LOAD_MESSAGES_PER_CLIENT_MAX = 4000;

const skipReason = ensureChromium();
if (skipReason) console.log(`dashboard tests skipped: ${skipReason}`);
const chromiumTest = skipReason ? test.skip : test;

let browser: Browser | null = null;
beforeAll(async () => {
  if (!skipReason) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** Opens the dashboard and records every /stats answer the page receives (the last 30). */
async function openDashboard(url: string): Promise<{ page: Page; received: StatsSnapshot[]; pageErrors: string[] }> {
  const page = await browser!.newPage({ viewport: VIEWPORT });
  const received: StatsSnapshot[] = [];
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("response", (response) => {
    if (!response.url().endsWith("/stats") || !response.ok()) return;
    response.json().then(
      (json: StatsSnapshot) => {
        received.push(json);
        if (received.length > 30) received.shift();
      },
      () => {}, // the page may navigate or the server stop mid-body: nothing to record
    );
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, received, pageErrors };
}

const FRACTION_FIELDS = new Set(["loss-rate", "retransmission-rate"]);
const PERCENT_FIELDS = new Set(["loss-rate", "retransmission-rate", "cpu-percent"]);
const TEXT_NOT_NUMERIC = new Set(["uptime"]);

/** Every figure equals the snapshot the page rendered, and its text says the same number. */
function expectShownMatches(shown: ShownFigures, rendered: StatsSnapshot): void {
  for (const [id, source] of Object.entries(FIGURE_SOURCES)) {
    const expected = source(rendered);
    expect({ id, value: shown.values[id] ?? null }).toEqual({ id, value: expected });
    if (expected === null || TEXT_NOT_NUMERIC.has(id)) continue;
    const stated = parseShownNumber(shown.texts[id]!);
    const value = FRACTION_FIELDS.has(id) ? expected * 100 : expected;
    // Three significant figures on the page: within 0.6%, or within the last shown digit.
    const tolerance = Math.max(Math.abs(value) * 0.006, PERCENT_FIELDS.has(id) ? 0.051 : 0.51);
    if (!(Math.abs(stated - value) <= tolerance)) throw new Error(`${id} shows "${shown.texts[id]}" for ${value}`);
  }
}

function expectClose(id: string, shown: number | null, fetched: number, tolerance: number): void {
  if (shown === null || !(Math.abs(shown - fetched) <= tolerance)) {
    throw new Error(`${id}: page shows ${shown}, /stats a moment later says ${fetched} (tolerance ${tolerance})`);
  }
}

/** The page against an independent /stats fetched right after reading it. */
function expectAgreesWithFetched(shown: ShownFigures, fetched: StatsSnapshot): void {
  const v = shown.values;
  expect(shown.texts.driver).toBe(fetched.driver);
  expect(shown.texts["checksum-kernel"]).toBe(fetched.checksumKernel);
  expect(v.workers).toBe(fetched.workers);
  expect(v.pid).toBe(fetched.pid);
  expect(v["connections-active"]).toBe(fetched.connections.active);
  expectClose("uptime", v.uptime!, fetched.uptimeSeconds, 3);
  // Rates are per one-second window: the page's and the fetch's may be a window apart.
  expectClose("messages-received-per-second", v["messages-received-per-second"]!, fetched.messages.received.perSecond, 0.5 * fetched.messages.received.perSecond + 30);
  expectClose("messages-sent-per-second", v["messages-sent-per-second"]!, fetched.messages.sent.perSecond, 0.5 * fetched.messages.sent.perSecond + 30);
  expectClose("bytes-received-per-second", v["bytes-received-per-second"]!, fetched.bytes.received.perSecond, 0.5 * fetched.bytes.received.perSecond + 4096);
  expectClose("bytes-sent-per-second", v["bytes-sent-per-second"]!, fetched.bytes.sent.perSecond, 0.5 * fetched.bytes.sent.perSecond + 4096);
  // Totals only grow, by at most a few seconds of traffic between the two readings.
  const totals: [string, number, number][] = [
    ["messages-received-total", fetched.messages.received.total, fetched.messages.received.perSecond],
    ["messages-sent-total", fetched.messages.sent.total, fetched.messages.sent.perSecond],
    ["bytes-received-total", fetched.bytes.received.total, fetched.bytes.received.perSecond],
  ];
  for (const [id, total, perSecond] of totals) {
    const shownTotal = v[id]!;
    if (!(shownTotal <= total && total - shownTotal <= 3 * perSecond + 4096)) throw new Error(`${id}: page shows ${shownTotal}, /stats a moment later ${total}`);
  }
}

/** Waits for the page's next poll to render, then fetches /stats at once. */
async function readAfterNextPoll(page: Page, metricsUrl: string): Promise<{ shown: ShownFigures; fetched: StatsSnapshot }> {
  const before = (await readShown(page)).snapshotMs;
  const shown = await waitFor("the page's next poll", 3000, async () => {
    const figures = await readShown(page);
    return figures.snapshotMs > before ? figures : undefined;
  }, 40);
  const fetched = (await (await fetch(`${metricsUrl}/stats`)).json()) as StatsSnapshot;
  return { shown, fetched };
}

/** The /stats answer the page rendered (its body is parsed here a little after the page's). */
function renderedSnapshot(shown: ShownFigures, received: StatsSnapshot[]): Promise<StatsSnapshot> {
  return waitFor(`snapshot ${shown.snapshotMs} among the /stats answers the page received`, 2000, async () =>
    received.find((snapshot) => snapshot.timestampMs === shown.snapshotMs),
  50);
}

async function saveScreenshot(page: Page): Promise<void> {
  await page.screenshot({ path: SCREENSHOT_TEMP_PATH, fullPage: true });
  const bytes = statSync(SCREENSHOT_TEMP_PATH).size;
  console.log(`dashboard screenshot: ${SCREENSHOT_TEMP_PATH} (${Math.round(bytes / 1024)} KB)`);
  if (process.env.UPDATE_SCREENSHOT !== "1") return;
  expect(bytes).toBeLessThan(SCREENSHOT_BYTES_MAX);
  copyFileSync(SCREENSHOT_TEMP_PATH, SCREENSHOT_DOCS_PATH);
  console.log(`dashboard screenshot copied to ${SCREENSHOT_DOCS_PATH}`);
}

async function expectDisconnected(page: Page): Promise<void> {
  await waitFor("the page to say disconnected", 6000, async () => ((await readShown(page)).status === "disconnected" ? true : undefined));
  expect(await page.getByTestId("disconnected-banner").isVisible()).toBe(true);
  expect(Number(await page.getByTestId("failed-polls").textContent())).toBeGreaterThan(0);
}

/** Echo load: each client sends one message per tick until stopped or its count is reached. */
function startLoad(clients: RudpConnection[]): { echoesReceived: () => number; stop: () => void } {
  let echoes = 0;
  const payload = new Uint8Array(LOAD_MESSAGE_BYTES).fill(7);
  const sentPerClient = clients.map(() => 0);
  for (const client of clients) client.on("message", () => void echoes++);
  const timer = setInterval(() => {
    clients.forEach((client, index) => {
      if (client.closed || sentPerClient[index]! >= LOAD_MESSAGES_PER_CLIENT_MAX) return;
      if (client.send(0, payload)) sentPerClient[index]!++;
    });
  }, LOAD_INTERVAL_MS);
  return { echoesReceived: () => echoes, stop: () => clearInterval(timer) };
}

describe("dashboard", () => {
  chromiumTest("real server: live figures agree with /stats, charts fill, disconnected on stop, recovers on restart", async () => {
    const metricsPort = freeTcpPort();
    let server: RunningServer | null = await startRealServer(metricsPort);
    const clients: RudpConnection[] = [];
    let load: ReturnType<typeof startLoad> | null = null;
    try {
      for (let i = 0; i < LOAD_CLIENTS; i++) clients.push(await connect("127.0.0.1", server.udpPort));
      load = startLoad(clients);
      const { page, received, pageErrors } = await openDashboard(`${server.metricsUrl}/`);

      // Charts show traffic both ways.
      await waitFor("non-zero traffic in the charts", 12_000, async () => {
        const messages = await chartLastValues(page, "chart-messages");
        return messages.last.every((value) => value !== null && value > 0) ? true : undefined;
      });
      expect(load.echoesReceived()).toBeGreaterThan(0);
      // RTT (per one-second window) is plotted too.
      await waitFor("RTT p50 and p99 in the chart", 5000, async () => {
        const [p50, p99] = (await chartLastValues(page, "chart-rtt")).last;
        return p50 !== null && p50! > 0 && p99 !== null && p99! >= p50! ? true : undefined;
      });

      // Exact: the figures are the snapshot the page received. Close: a /stats fetched right
      // after the page's next poll agrees (usually the same one-second window).
      const { shown, fetched } = await readAfterNextPoll(page, server.metricsUrl);
      expect(shown.status).toBe("live");
      expectShownMatches(shown, await renderedSnapshot(shown, received));
      expectAgreesWithFetched(shown, fetched);
      expect(shown.values["connections-active"]).toBe(LOAD_CLIENTS);
      expect(shown.values["messages-received-per-second"]!).toBeGreaterThan(0);
      expect(shown.values["rtt-p50"]!).toBeGreaterThan(0);
      expect(shown.values["rtt-p999"]!).toBeGreaterThanOrEqual(shown.values["rtt-p50"]!);
      const bytesChart = await chartLastValues(page, "chart-bytes");
      expect(bytesChart.maxima.every((max) => max > 0)).toBe(true);
      expect(bytesChart.points).toBeLessThanOrEqual(300);

      if (process.env.UPDATE_SCREENSHOT === "1") {
        // The README picture: let the charts collect some history first.
        await Bun.sleep(SCREENSHOT_HISTORY_MS);
      }
      await saveScreenshot(page);

      load.stop();
      for (const client of clients) client.close();
      expect(await server.stop()).toBe(0);
      server = null;
      await expectDisconnected(page);

      // Recovery: a new server on the same metrics port; the page notices the new pid.
      server = await startRealServer(metricsPort);
      await waitFor("the page to come back live", 6000, async () => ((await readShown(page)).status === "live" ? true : undefined));
      const recovered = await readShown(page);
      expect(recovered.values.pid).toBe(server.pid);
      expect(recovered.values["connections-active"]).toBe(0);
      expect(await page.getByTestId("disconnected-banner").isVisible()).toBe(false);
      expect(await page.getByTestId("restart-notice").isVisible()).toBe(true);
      expect(pageErrors).toEqual([]);
      await page.close();
    } catch (error) {
      if (server) console.log(`server log:\n${server.log()}`);
      throw error;
    } finally {
      load?.stop();
      for (const client of clients) if (!client.closed) client.close();
      await server?.stop();
    }
  }, 40_000 + (process.env.UPDATE_SCREENSHOT === "1" ? SCREENSHOT_HISTORY_MS : 0));

  // The primary serves the aggregate of its workers (percentiles from merged histograms).
  chromiumTest("--workers 2: the page shows the primary's aggregate of both workers", async () => {
    const metricsPort = freeTcpPort();
    const udpPort = await freeUdpPort();
    let server: RunningServer | null = await startRealServer(metricsPort, { workers: 2, udpPort });
    const clients: RudpConnection[] = [];
    let load: ReturnType<typeof startLoad> | null = null;
    try {
      for (let i = 0; i < 2; i++) clients.push(await connect("127.0.0.1", udpPort));
      load = startLoad(clients);
      const { page, received, pageErrors } = await openDashboard(`${server.metricsUrl}/`);
      await waitFor("non-zero traffic in the charts", 10_000, async () => {
        const messages = await chartLastValues(page, "chart-messages");
        return messages.last.every((value) => value !== null && value > 0) ? true : undefined;
      });
      // RTT percentiles come from the workers' histograms merged by the primary.
      await waitFor("an aggregate RTT p50 on the page", 5000, async () => ((await readShown(page)).values["rtt-p50"] ?? 0) > 0 || undefined);
      const { shown, fetched } = await readAfterNextPoll(page, server.metricsUrl);
      expectShownMatches(shown, await renderedSnapshot(shown, received));
      expectAgreesWithFetched(shown, fetched);
      expect(shown.values.workers).toBe(2);
      expect(shown.values.pid).toBe(server.pid);
      expect(shown.values["connections-active"]).toBe(2);
      expect(pageErrors).toEqual([]);
      await page.close();
    } catch (error) {
      if (server) console.log(`server log:\n${server.log()}`);
      throw error;
    } finally {
      load?.stop();
      for (const client of clients) if (!client.closed) client.close();
      await server?.stop();
      server = null;
    }
  }, 30_000);

  chromiumTest("stand-in stats: every section renders what /stats says, disconnected and recovery", async () => {
    let standIn = startStandInMetricsServer();
    const port = Number(new URL(standIn.url).port);
    try {
      const { page, received, pageErrors } = await openDashboard(`${standIn.url}/dashboard`);
      await waitFor("two polls", 5000, async () => (received.length >= 2 ? true : undefined));
      const shown = await waitFor("the page to render a snapshot", 3000, async () => {
        const figures = await readShown(page);
        return received.some((s) => s.timestampMs === figures.snapshotMs) ? figures : undefined;
      });
      const rendered = await renderedSnapshot(shown, received);
      expectShownMatches(shown, rendered);
      // Tables keyed by the server's own names.
      expect(shown.values["closed-graceful"]).toBe(rendered.connections.closedByReason.graceful!);
      expect(shown.values["closed-idle-timeout"]).toBe(rendered.connections.closedByReason["idle-timeout"]!);
      expect(shown.values["drop-bad-checksum"]).toBe(rendered.drops["bad-checksum"]!);
      expect(shown.values["limit-send-buffer-full"]).toBe(rendered.limitRefusals["send-buffer-full"]!);
      expect(shown.values["handshake-failed-server-full"]).toBe(1);
      for (const sizeClass of rendered.pool) {
        expect(shown.values[`pool-${sizeClass.sizeBytes}-in-use`]).toBe(sizeClass.inUse);
        expect(shown.values[`pool-${sizeClass.sizeBytes}-refused`]).toBe(sizeClass.refused);
      }
      expect(shown.texts["numa-node"]).toBe("0");
      // Per-interval loss needs two snapshots; it is plotted from the third point on at the latest.
      await waitFor("a loss point in the chart", 4000, async () => ((await chartLastValues(page, "chart-loss")).last[0] ?? 0) > 0 || undefined);

      standIn.stop();
      await expectDisconnected(page);
      const gap = await chartLastValues(page, "chart-messages");
      expect(gap.last).toEqual([null, null]);

      standIn = startStandInMetricsServer(port);
      await waitFor("the page to come back live", 5000, async () => ((await readShown(page)).status === "live" ? true : undefined));
      // Same pid, uptime went back: the page says the server restarted.
      expect(await page.getByTestId("restart-notice").isVisible()).toBe(true);

      // A server that takes the request and never answers is disconnected too (poll timeout).
      standIn.setHung(true);
      await expectDisconnected(page);
      expect(await page.getByTestId("last-error").textContent()).toContain("no answer");
      standIn.setHung(false);
      await waitFor("the page to come back live after the stall", 5000, async () => ((await readShown(page)).status === "live" ? true : undefined));
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      standIn.stop();
    }
  }, 25_000);

  chromiumTest("a page opened now starts with the server's recent history, not empty charts", async () => {
    const standIn = startStandInMetricsServer();
    try {
      await Bun.sleep(3500); // the server samples its history once a second
      const served = (await (await fetch(`${standIn.url}/stats/history`)).json()) as StatsSnapshot[];
      expect(served.length).toBeGreaterThanOrEqual(3);
      const { page, pageErrors } = await openDashboard(`${standIn.url}/`);
      // Before the first poll could add a second point, the charts hold the served history.
      const points = await waitFor("the history to be drawn", 3000, async () => {
        const held = await page.evaluate(() => {
          const dashboard = ((globalThis as unknown as { window: unknown }).window as { rudpDashboard?: { history: { seconds: number[]; pointsFromServerHistory?: number } } }).rudpDashboard;
          return dashboard ? { seconds: dashboard.history.seconds.length, fromServer: dashboard.history.pointsFromServerHistory ?? 0 } : null;
        });
        return held && held.fromServer > 0 ? held : undefined;
      });
      expect(points.fromServer).toBeGreaterThanOrEqual(3);
      expect(points.seconds).toBeGreaterThanOrEqual(points.fromServer);
      const messages = await chartLastValues(page, "chart-messages");
      expect(messages.last[0]).not.toBeNull();
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      standIn.stop();
    }
  }, 20_000);
});
