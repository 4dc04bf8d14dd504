// A tiny SVG chart writer for the load benchmark report: horizontal bars and line plots
// (latency CDF). Written out rather than pulled from npm: two chart types, no layout engine,
// no DOM, and the output must be a static file that GitHub renders.

const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function formatValue(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

export interface Bar {
  label: string;
  value: number;
}

export function barChartSvg(title: string, unit: string, bars: Bar[]): string {
  const width = 720;
  const labelWidth = 170;
  const rowHeight = 30;
  const top = 40;
  const height = top + bars.length * rowHeight + 20;
  const max = Math.max(1e-9, ...bars.map((bar) => bar.value));
  const plotWidth = width - labelWidth - 110;
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const length = Math.max(1, (bar.value / max) * plotWidth);
    return [
      `<text x="${labelWidth - 8}" y="${y + 19}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${length.toFixed(1)}" height="${rowHeight - 10}" fill="${palette[i % palette.length]}"/>`,
      `<text x="${labelWidth + length + 6}" y="${y + 19}">${formatValue(bar.value)} ${escapeXml(unit)}</text>`,
    ].join("");
  });
  return svgDocument(width, height, title, rows.join("\n"));
}

export interface Series {
  label: string;
  /** [x, y] points; x is a percentile (0..100), y a value in the unit. */
  points: [number, number][];
}

/** A latency CDF: percentile on a "nines" x axis (0, 90, 99, 99.9, 99.99), value on a log y axis. */
export function cdfChartSvg(title: string, unit: string, series: Series[]): string {
  const width = 720;
  const height = 420;
  const left = 70;
  const right = 170;
  const top = 40;
  const bottom = 50;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const nines = (p: number) => -Math.log10(Math.max(1e-4, 1 - p / 100)); // 0..4
  const values = series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => y > 0);
  const yMin = Math.max(1, Math.min(...values, 1e9));
  const yMax = Math.max(yMin * 10, ...values);
  const logMin = Math.floor(Math.log10(yMin));
  const logMax = Math.ceil(Math.log10(yMax));
  const x = (p: number) => left + (nines(p) / 4) * plotWidth;
  const y = (v: number) => top + plotHeight - ((Math.log10(Math.max(v, 1)) - logMin) / (logMax - logMin)) * plotHeight;
  const parts: string[] = [];
  for (const [p, label] of [[0, "p0"], [90, "p90"], [99, "p99"], [99.9, "p99.9"], [99.99, "p99.99"]] as const) {
    parts.push(`<line x1="${x(p)}" y1="${top}" x2="${x(p)}" y2="${top + plotHeight}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(p)}" y="${top + plotHeight + 18}" text-anchor="middle">${label}</text>`);
  }
  for (let power = logMin; power <= logMax; power++) {
    const value = 10 ** power;
    parts.push(`<line x1="${left}" y1="${y(value)}" x2="${left + plotWidth}" y2="${y(value)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end">${formatValue(value)}</text>`);
  }
  parts.push(`<text x="${left + plotWidth / 2}" y="${height - 10}" text-anchor="middle">percentile</text>`);
  parts.push(`<text x="16" y="${top + plotHeight / 2}" transform="rotate(-90 16 ${top + plotHeight / 2})" text-anchor="middle">${escapeXml(unit)} (log)</text>`);
  series.forEach((s, i) => {
    const color = palette[i % palette.length];
    const path = s.points.filter(([p]) => p < 100).map(([p, v], j) => `${j === 0 ? "M" : "L"}${x(p).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    if (path) parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<rect x="${width - right + 14}" y="${top + i * 22}" width="14" height="4" fill="${color}"/>`);
    parts.push(`<text x="${width - right + 34}" y="${top + i * 22 + 6}">${escapeXml(s.label)}</text>`);
  });
  return svgDocument(width, height, title, parts.join("\n"));
}

function svgDocument(width: number, height: number, title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>
${body}
</svg>
`;
}
