// Reads what the dashboard shows: every [data-testid] figure with its raw data-value and its
// formatted text, read in one evaluate call so all figures come from the same rendered snapshot.
import type { Page } from "playwright-core";
import type { StatsSnapshot } from "../../src/metrics/statsSchema.ts";

export interface ShownFigures {
  status: string;
  /** timestampMs of the /stats answer the page rendered last. */
  snapshotMs: number;
  values: Record<string, number | null>;
  texts: Record<string, string>;
}

// The page's DOM as far as these probes use it (the project compiles without the DOM library).
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
interface PageDocument {
  querySelectorAll(selector: string): Iterable<PageElement>;
  body: PageElement;
}

export function readShown(page: Page): Promise<ShownFigures> {
  return page.evaluate(() => {
    const document = (globalThis as unknown as { document: PageDocument }).document;
    const values: Record<string, number | null> = {};
    const texts: Record<string, string> = {};
    for (const element of document.querySelectorAll("[data-testid]")) {
      const id = element.dataset.testid!;
      texts[id] = (element.textContent ?? "").trim();
      if (element.dataset.value !== undefined) values[id] = element.dataset.value === "" ? null : Number(element.dataset.value);
    }
    return { status: texts.status ?? "", snapshotMs: Number(document.body.dataset.snapshotMs ?? "0"), values, texts };
  });
}

const sum = (record: Record<string, number>) => Object.values(record).reduce((total, value) => total + value, 0);
const seen = (summary: { count: number }, value: number) => (summary.count > 0 ? value : null);

/** Where each figure on the page comes from in a StatsSnapshot. */
export const FIGURE_SOURCES: Record<string, (s: StatsSnapshot) => number | null> = {
  "messages-received-per-second": (s) => s.messages.received.perSecond,
  "messages-sent-per-second": (s) => s.messages.sent.perSecond,
  "messages-received-total": (s) => s.messages.received.total,
  "messages-sent-total": (s) => s.messages.sent.total,
  "bytes-received-per-second": (s) => s.bytes.received.perSecond,
  "bytes-sent-per-second": (s) => s.bytes.sent.perSecond,
  "bytes-received-total": (s) => s.bytes.received.total,
  "bytes-sent-total": (s) => s.bytes.sent.total,
  "packets-received-per-second": (s) => s.packets.received.perSecond,
  "packets-sent-per-second": (s) => s.packets.sent.perSecond,
  "packets-per-system-call": (s) => s.packets.perSystemCall,
  "rtt-p50": (s) => seen(s.rttUs, s.rttUs.p50),
  "rtt-p99": (s) => seen(s.rttUs, s.rttUs.p99),
  "rtt-p999": (s) => seen(s.rttUs, s.rttUs.p999),
  "rtt-samples": (s) => s.rttUs.count,
  "rtt-since-start-p99": (s) => seen(s.rttUsSinceStart, s.rttUsSinceStart.p99),
  "connections-active": (s) => s.connections.active,
  "connections-opened": (s) => s.connections.opened,
  "connections-closed": (s) => sum(s.connections.closedByReason),
  "handshakes-completed": (s) => s.handshakes.completed,
  "loss-rate": (s) => s.loss.lossRate,
  "retransmission-rate": (s) => s.loss.retransmissionRate,
  "packets-lost": (s) => s.loss.packetsLost,
  "packets-retransmitted": (s) => s.loss.packetsRetransmitted,
  "spurious-retransmissions": (s) => s.loss.spuriousRetransmissions,
  "cpu-percent": (s) => s.process.cpuPercent,
  rss: (s) => s.process.rssBytes,
  "heap-used": (s) => s.process.heapUsedBytes,
  workers: (s) => s.workers,
  uptime: (s) => s.uptimeSeconds,
  pid: (s) => s.pid,
  "cwnd-count": (s) => s.congestionWindowBytes.count,
  "cwnd-p50": (s) => seen(s.congestionWindowBytes, s.congestionWindowBytes.p50),
  "cwnd-p99": (s) => seen(s.congestionWindowBytes, s.congestionWindowBytes.p99),
  "inflight-p50": (s) => seen(s.bytesInFlight, s.bytesInFlight.p50),
};

const SCALE: Record<string, number> = {
  k: 1e3, M: 1e6, G: 1e9,
  B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
  "µs": 1, ms: 1e3, s: 1e6,
  "%": 1,
};

/**
 * The number a formatted figure stands for ("2.39 MiB" -> 2506097, "25.0k" -> 25000,
 * "52 µs" -> 52, "0.35%" -> 0.35), or NaN for text that is not a figure.
 */
export function parseShownNumber(text: string): number {
  const match = /^(-?\d+(?:\.\d+)?)\s*(k|M|G|B|KiB|MiB|GiB|TiB|µs|ms|s|%)?$/.exec(text.trim());
  if (!match) return Number.NaN;
  return Number(match[1]) * (match[2] ? SCALE[match[2]]! : 1);
}

/** Polls `check` (bounded by timeoutMs) until it returns a value other than undefined. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (let attempt = 0; attempt < 2000; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) break;
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/** Last plotted value of every series of a chart (null for a gap), as uPlot holds them. */
export function chartLastValues(page: Page, chartId: string): Promise<{ points: number; last: (number | null)[]; maxima: number[] }> {
  return page.evaluate((id) => {
    const chart = (globalThis as unknown as { rudpDashboard: { charts: Record<string, { data: (number | null)[][] }> } }).rudpDashboard.charts[id]!;
    const [xs, ...series] = chart.data;
    return {
      points: xs!.length,
      last: series.map((values) => values[values.length - 1] ?? null),
      maxima: series.map((values) => values.reduce<number>((max, v) => (v !== null && v > max ? v : max), 0)),
    };
  }, chartId);
}
