// A dependency-free SVG line chart of the soak samples: RSS (MiB, left axis) and p99 RTT
// (ms, right axis) against seconds, with the second-half RSS trend line.
import type { SoakSample } from "./run.ts";

const WIDTH = 900;
const HEIGHT = 360;
const MARGIN = { left: 60, right: 60, top: 50, bottom: 40 };

function scale(value: number, min: number, max: number, from: number, to: number): number {
  return max === min ? (from + to) / 2 : from + ((value - min) / (max - min)) * (to - from);
}

function polyline(points: [number, number][], color: string, dashed = false): string {
  const path = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5"${dashed ? ' stroke-dasharray="6 4"' : ""} points="${path}"/>`;
}

export function soakChartSvg(samples: readonly SoakSample[], title: string, trend: { fromSecond: number; slope: number; intercept: number }): string {
  const xs = samples.map((s) => s.second);
  const rss = samples.map((s) => s.rssBytes / 2 ** 20);
  const rtt = samples.map((s) => (Number.isFinite(s.appRttP99Ms) ? s.appRttP99Ms : 0));
  const xMax = Math.max(1, ...xs);
  const rssMin = Math.floor(Math.min(...rss) * 0.95);
  const rssMax = Math.ceil(Math.max(...rss) * 1.05);
  const rttMax = Math.max(1, ...rtt) * 1.1;
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const x = (v: number) => scale(v, 0, xMax, left, right);
  const yRss = (v: number) => scale(v, rssMin, rssMax, bottom, top);
  const yRtt = (v: number) => scale(v, 0, rttMax, bottom, top);
  const trendPoints: [number, number][] = [trend.fromSecond, xMax].map((s) => [x(s), yRss((trend.slope * s + trend.intercept) / 2 ** 20)]);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13">${title}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#888"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#1f77b4"/>`,
    `<line x1="${right}" y1="${top}" x2="${right}" y2="${bottom}" stroke="#d62728"/>`,
    ...ticks.map((t) => `<text x="${x(t * xMax).toFixed(1)}" y="${bottom + 15}" text-anchor="middle">${Math.round(t * xMax)} s</text>`),
    ...ticks.map((t) => `<text x="${left - 5}" y="${yRss(rssMin + t * (rssMax - rssMin)).toFixed(1)}" text-anchor="end" fill="#1f77b4">${(rssMin + t * (rssMax - rssMin)).toFixed(0)}</text>`),
    ...ticks.map((t) => `<text x="${right + 5}" y="${yRtt(t * rttMax).toFixed(1)}" fill="#d62728">${(t * rttMax).toFixed(1)}</text>`),
    `<text x="${left - 50}" y="${top - 8}" fill="#1f77b4">RSS MiB</text>`,
    `<text x="${right - 20}" y="${top - 8}" fill="#d62728">p99 RTT ms</text>`,
    polyline(samples.map((s, i) => [x(s.second), yRss(rss[i]!)]), "#1f77b4"),
    polyline(samples.map((s, i) => [x(s.second), yRtt(rtt[i]!)]), "#d62728"),
    polyline(trendPoints, "#1f77b4", true),
    `</svg>`,
  ].join("\n");
}
