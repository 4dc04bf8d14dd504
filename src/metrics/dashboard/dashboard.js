// The bun-rudp live dashboard: starts with the server's recent past (/stats/history), then polls
// /stats once a second, writes the figures into the page and keeps the last five minutes in
// bounded arrays that uPlot draws. No build step: this file
// is served as is, and uPlot (a global from uPlot.iife.min.js) is its only dependency.
"use strict";

(() => {
  // Where the metrics routes are mounted (the server fills in the meta tag: "" or e.g. "/rudp").
  const BASE = document.querySelector('meta[name="rudp-base"]')?.getAttribute("content") ?? "";
  const STATS_URL = `${BASE}/stats`;
  const HISTORY_URL = `${BASE}/stats/history`;
  const POLL_INTERVAL_MS = 1000;
  // A server that accepts the connection but never answers must show as disconnected too.
  const POLL_TIMEOUT_MS = 2500;
  const HISTORY_POINTS_MAX = 300; // five minutes at one point a second
  // Keys of closedByReason, drops and limitRefusals come from the server: bound what is drawn.
  const TABLE_ROWS_MAX = 40;
  const CHART_HEIGHT_PX = 170;

  const COLORS = {
    received: "#4fc3f7",
    sent: "#ffb74d",
    p50: "#81c784",
    p99: "#ffb74d",
    p999: "#e57373",
    active: "#4fc3f7",
    opened: "#81c784",
    closed: "#e57373",
    loss: "#e57373",
    retransmission: "#ffb74d",
    cwnd50: "#4fc3f7",
    cwnd99: "#ba68c8",
    inFlight: "#81c784",
    cpu: "#ffb74d",
    rss: "#4fc3f7",
  };

  // ---- number formats (three significant figures; the test reads data-value for exact figures)

  function isNumber(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  function significant(value) {
    const magnitude = Math.abs(value);
    return value.toFixed(magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2);
  }

  function formatCount(value) {
    const magnitude = Math.abs(value);
    if (magnitude < 1000) return Number.isInteger(value) ? String(value) : significant(value);
    if (magnitude < 1e6) return significant(value / 1e3) + "k";
    if (magnitude < 1e9) return significant(value / 1e6) + "M";
    return significant(value / 1e9) + "G";
  }

  const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
  function formatBytes(value) {
    let scaled = value;
    let unit = 0;
    while (Math.abs(scaled) >= 1024 && unit < BYTE_UNITS.length - 1) {
      scaled /= 1024;
      unit++;
    }
    return (unit === 0 ? String(Math.round(scaled)) : significant(scaled)) + " " + BYTE_UNITS[unit];
  }

  function formatMicroseconds(value) {
    if (value < 10 && !Number.isInteger(value)) return significant(value) + " µs";
    if (value < 1000) return Math.round(value) + " µs";
    if (value < 1e6) return significant(value / 1e3) + " ms";
    return significant(value / 1e6) + " s";
  }

  /** A fraction (0.0123) as a percentage ("1.23%"). */
  function formatFractionPercent(fraction) {
    const percent = fraction * 100;
    return percent.toFixed(percent >= 10 ? 1 : 2) + "%";
  }

  function formatPercent(percent) {
    return percent.toFixed(1) + "%";
  }

  function formatDuration(seconds) {
    const total = Math.floor(seconds);
    const days = Math.floor(total / 86400);
    const hours = Math.floor((total % 86400) / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const rest = total % 60;
    const two = (n) => String(n).padStart(2, "0");
    if (days > 0) return `${days}d ${two(hours)}h`;
    if (hours > 0) return `${hours}h ${two(minutes)}m`;
    if (minutes > 0) return `${minutes}m ${two(rest)}s`;
    return `${rest}s`;
  }

  function formatClock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }

  // ---- writing figures

  function byId(id) {
    const element = document.getElementById(id);
    if (!element) throw new Error(`dashboard: no element #${id}`);
    return element;
  }

  /** Shows a figure; data-value keeps the unformatted number so tests and scripts can read it. */
  function setFigure(id, value, format) {
    const element = byId(id);
    if (!isNumber(value)) {
      element.textContent = "–";
      element.dataset.value = "";
      return;
    }
    element.textContent = format(value);
    element.dataset.value = String(value);
  }

  function setText(id, text) {
    byId(id).textContent = text;
  }

  function testIdFragment(key) {
    return String(key).toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 64);
  }

  function sumValues(record) {
    let total = 0;
    for (const value of Object.values(record ?? {})) if (isNumber(value)) total += value;
    return total;
  }

  function cell(tag, text, testId, value) {
    const element = document.createElement(tag);
    element.textContent = text;
    if (testId) element.dataset.testid = testId;
    if (value !== undefined) element.dataset.value = String(value);
    return element;
  }

  /** One row per key, largest first, at most TABLE_ROWS_MAX (and a row saying how many more). */
  function renderCounts(tbodyId, record, testIdPrefix, emptyText) {
    const entries = Object.entries(record ?? {}).filter(([, value]) => isNumber(value));
    entries.sort((a, b) => b[1] - a[1]);
    const rows = [];
    for (const [key, value] of entries.slice(0, TABLE_ROWS_MAX)) {
      const row = document.createElement("tr");
      if (value > 0) row.className = "nonzero";
      row.append(cell("th", key), cell("td", formatCount(value), `${testIdPrefix}-${testIdFragment(key)}`, value));
      rows.push(row);
    }
    if (entries.length > TABLE_ROWS_MAX) {
      const row = document.createElement("tr");
      row.className = "empty";
      row.append(cell("td", `${entries.length - TABLE_ROWS_MAX} more not shown`));
      rows.push(row);
    }
    if (rows.length === 0 && emptyText) {
      const row = document.createElement("tr");
      row.className = "empty";
      row.append(cell("td", emptyText));
      rows.push(row);
    }
    byId(tbodyId).replaceChildren(...rows);
  }

  function renderPool(pool) {
    const classes = Array.isArray(pool) ? pool.slice(0, TABLE_ROWS_MAX) : [];
    if (classes.length === 0) {
      const row = document.createElement("tr");
      row.className = "empty";
      const note = cell("td", "the driver reports no buffer pool");
      note.colSpan = 6;
      row.append(note);
      byId("pool-rows").replaceChildren(row);
      return;
    }
    const rows = classes.map((sizeClass) => {
      const size = sizeClass.sizeBytes;
      const capacity = sizeClass.inUse + sizeClass.free;
      const use = capacity > 0 ? sizeClass.inUse / capacity : 0;
      const row = document.createElement("tr");
      const bar = document.createElement("td");
      const meter = document.createElement("meter");
      meter.min = 0;
      meter.max = 1;
      meter.value = use;
      meter.dataset.testid = `pool-${size}-use`;
      meter.dataset.value = String(use);
      bar.append(meter, document.createTextNode(" " + formatFractionPercent(use)));
      const refused = cell("td", formatCount(sizeClass.refused), `pool-${size}-refused`, sizeClass.refused);
      if (sizeClass.refused > 0) refused.className = "alarm";
      row.append(
        cell("th", formatBytes(size)),
        cell("td", formatCount(sizeClass.inUse), `pool-${size}-in-use`, sizeClass.inUse),
        cell("td", formatCount(sizeClass.free), `pool-${size}-free`, sizeClass.free),
        bar,
        cell("td", formatCount(sizeClass.highWater), `pool-${size}-high-water`, sizeClass.highWater),
        refused,
      );
      return row;
    });
    byId("pool-rows").replaceChildren(...rows);
  }

  function renderDistribution(prefix, summary) {
    const empty = !summary || !(summary.count > 0);
    setFigure(`${prefix}-count`, summary?.count, formatCount);
    for (const key of ["min", "p50", "p90", "p99", "max"]) {
      setFigure(`${prefix}-${key}`, empty ? null : summary[key], formatBytes);
    }
  }

  function renderFigures(stats) {
    setText("driver", String(stats.driver ?? "–"));
    setText("checksum-kernel", String(stats.checksumKernel ?? "–"));
    setText("numa-node", stats.numaNode === null || stats.numaNode === undefined ? "none" : String(stats.numaNode));
    setFigure("workers", stats.workers, String);
    setFigure("uptime", stats.uptimeSeconds, formatDuration);
    // An empty host means the wildcard address.
    setText("listen", stats.listen ? `${stats.listen.host || "*"}:${stats.listen.port}` : "–");
    setFigure("pid", stats.pid, String);

    setFigure("messages-received-per-second", stats.messages?.received?.perSecond, formatCount);
    setFigure("messages-sent-per-second", stats.messages?.sent?.perSecond, formatCount);
    setFigure("messages-received-total", stats.messages?.received?.total, formatCount);
    setFigure("messages-sent-total", stats.messages?.sent?.total, formatCount);
    setFigure("bytes-received-per-second", stats.bytes?.received?.perSecond, formatBytes);
    setFigure("bytes-sent-per-second", stats.bytes?.sent?.perSecond, formatBytes);
    setFigure("bytes-received-total", stats.bytes?.received?.total, formatBytes);
    setFigure("bytes-sent-total", stats.bytes?.sent?.total, formatBytes);
    setFigure("packets-received-per-second", stats.packets?.received?.perSecond, formatCount);
    setFigure("packets-sent-per-second", stats.packets?.sent?.perSecond, formatCount);
    setFigure("packets-per-system-call", stats.packets?.perSystemCall, formatCount);

    const rtt = stats.rttUs ?? {};
    const rttSeen = rtt.count > 0;
    setFigure("rtt-p50", rttSeen ? rtt.p50 : null, formatMicroseconds);
    setFigure("rtt-p99", rttSeen ? rtt.p99 : null, formatMicroseconds);
    setFigure("rtt-p999", rttSeen ? rtt.p999 : null, formatMicroseconds);
    setFigure("rtt-samples", rtt.count, formatCount);
    setFigure("rtt-since-start-p99", stats.rttUsSinceStart?.count > 0 ? stats.rttUsSinceStart.p99 : null, formatMicroseconds);

    setFigure("connections-active", stats.connections?.active, formatCount);
    setFigure("connections-opened", stats.connections?.opened, formatCount);
    setFigure("connections-closed", sumValues(stats.connections?.closedByReason), formatCount);
    setFigure("handshakes-completed", stats.handshakes?.completed, formatCount);

    setFigure("loss-rate", stats.loss?.lossRate, formatFractionPercent);
    setFigure("retransmission-rate", stats.loss?.retransmissionRate, formatFractionPercent);
    setFigure("packets-lost", stats.loss?.packetsLost, formatCount);
    setFigure("packets-retransmitted", stats.loss?.packetsRetransmitted, formatCount);
    setFigure("spurious-retransmissions", stats.loss?.spuriousRetransmissions, formatCount);

    setFigure("cpu-percent", stats.process?.cpuPercent, formatPercent);
    setFigure("rss", stats.process?.rssBytes, formatBytes);
    setFigure("heap-used", stats.process?.heapUsedBytes, formatBytes);

    renderDistribution("cwnd", stats.congestionWindowBytes);
    renderDistribution("inflight", stats.bytesInFlight);
    renderPool(stats.pool);
    renderCounts("closed-rows", stats.connections?.closedByReason, "closed", "none yet");
    renderCounts("handshake-failed-rows", prefixKeys(stats.handshakes?.failedByReason, "failed: "), "handshake", "");
    renderCounts("drop-rows", stats.drops, "drop", "none");
    renderCounts("limit-rows", stats.limitRefusals, "limit", "none");
  }

  function prefixKeys(record, prefix) {
    const out = {};
    for (const [key, value] of Object.entries(record ?? {})) out[prefix + key] = value;
    return out;
  }

  // ---- per-interval figures (from the difference between two snapshots of one server)

  function intervalFigures(previous, current) {
    try {
      return intervalFiguresOrThrow(previous, current);
    } catch {
      return null; // a server that leaves out a counter: no per-interval figures, not an outage
    }
  }

  function intervalFiguresOrThrow(previous, current) {
    if (!previous || previous.pid !== current.pid || current.uptimeSeconds < previous.uptimeSeconds) return null;
    const seconds = (current.timestampMs - previous.timestampMs) / 1000;
    if (!(seconds > 0)) return null;
    const sent = current.packets.sent.total - previous.packets.sent.total;
    const lost = current.loss.packetsLost - previous.loss.packetsLost;
    const retransmitted = current.loss.packetsRetransmitted - previous.loss.packetsRetransmitted;
    const closed = sumValues(current.connections.closedByReason) - sumValues(previous.connections.closedByReason);
    return {
      lossFraction: sent > 0 ? Math.max(0, lost) / sent : 0,
      retransmissionFraction: sent > 0 ? Math.max(0, retransmitted) / sent : 0,
      openedPerSecond: Math.max(0, current.connections.opened - previous.connections.opened) / seconds,
      closedPerSecond: Math.max(0, closed) / seconds,
    };
  }

  // ---- charts

  /** Bytes over all pool size classes (null without a pool: the fallback driver has none). */
  function poolBytes(pool, key) {
    if (!Array.isArray(pool) || pool.length === 0) return null;
    return pool.reduce((total, sizeClass) => total + sizeClass[key] * sizeClass.sizeBytes, 0);
  }

  function poolCount(pool, key) {
    if (!Array.isArray(pool) || pool.length === 0) return null;
    return pool.reduce((total, sizeClass) => total + sizeClass[key], 0);
  }

  const onlyIfSeen = (summary, key) => (summary && summary.count > 0 ? summary[key] : null);

  const CHART_SPECS = [
    {
      id: "chart-messages", format: formatCount, series: [
        { label: "received", color: COLORS.received, fill: true, read: (s) => s.messages.received.perSecond },
        { label: "sent", color: COLORS.sent, read: (s) => s.messages.sent.perSecond },
      ],
    },
    {
      id: "chart-bytes", format: formatBytes, series: [
        { label: "received", color: COLORS.received, fill: true, read: (s) => s.bytes.received.perSecond },
        { label: "sent", color: COLORS.sent, read: (s) => s.bytes.sent.perSecond },
      ],
    },
    {
      id: "chart-rtt", format: formatMicroseconds, logScale: true, series: [
        { label: "p50", color: COLORS.p50, read: (s) => onlyIfSeen(s.rttUs, "p50") },
        { label: "p99", color: COLORS.p99, read: (s) => onlyIfSeen(s.rttUs, "p99") },
        { label: "p99.9", color: COLORS.p999, read: (s) => onlyIfSeen(s.rttUs, "p999") },
      ],
    },
    {
      id: "chart-connections", format: formatCount, series: [
        { label: "active", color: COLORS.active, fill: true, read: (s) => s.connections.active },
        { label: "opened/s", color: COLORS.opened, read: (s, interval) => interval?.openedPerSecond ?? null },
        { label: "closed/s", color: COLORS.closed, read: (s, interval) => interval?.closedPerSecond ?? null },
      ],
    },
    {
      id: "chart-loss", format: formatFractionPercent, series: [
        { label: "lost", color: COLORS.loss, read: (s, interval) => interval?.lossFraction ?? null },
        { label: "retransmitted", color: COLORS.retransmission, read: (s, interval) => interval?.retransmissionFraction ?? null },
      ],
    },
    {
      id: "chart-cwnd", format: formatBytes, series: [
        { label: "cwnd p50", color: COLORS.cwnd50, read: (s) => onlyIfSeen(s.congestionWindowBytes, "p50") },
        { label: "cwnd p99", color: COLORS.cwnd99, read: (s) => onlyIfSeen(s.congestionWindowBytes, "p99") },
        { label: "in flight p50", color: COLORS.inFlight, read: (s) => onlyIfSeen(s.bytesInFlight, "p50") },
      ],
    },
    {
      id: "chart-packets", format: formatCount, series: [
        { label: "received", color: COLORS.received, fill: true, read: (s) => s.packets.received.perSecond },
        { label: "sent", color: COLORS.sent, read: (s) => s.packets.sent.perSecond },
      ],
    },
    {
      id: "chart-pool", format: formatBytes, series: [
        { label: "in use", color: COLORS.rss, fill: true, read: (s) => poolBytes(s.pool, "inUse") },
        { label: "high water", color: COLORS.cwnd99, read: (s) => poolBytes(s.pool, "highWater") },
        { label: "refused", color: COLORS.closed, scale: "count", format: formatCount, read: (s) => poolCount(s.pool, "refused") },
      ],
    },
    {
      id: "chart-process", format: formatPercent, series: [
        { label: "CPU", color: COLORS.cpu, read: (s) => s.process.cpuPercent },
        { label: "RSS", color: COLORS.rss, scale: "bytes", format: formatBytes, read: (s) => s.process.rssBytes },
      ],
    },
  ];

  // One x array shared by every chart; each chart's series arrays are filled point by point.
  const history = { seconds: [], perChart: new Map(), pointsDropped: 0 };
  const charts = {};

  // Byte axes step in 1, 2, 5 x powers of 1024 so ticks read "512 KiB", not "977 KiB".
  const BYTE_INCREMENTS = [];
  for (let power = 0; power <= 4; power++) for (const step of [1, 2, 5, 10, 20, 50, 100, 200, 500]) BYTE_INCREMENTS.push(step * 1024 ** power);

  function axis(scale, format, side) {
    const options = {
      scale,
      side,
      stroke: "#8b98a5",
      size: 72,
      grid: { show: side !== 1, stroke: "rgba(255,255,255,0.07)", width: 1 },
      ticks: { stroke: "rgba(255,255,255,0.12)", width: 1 },
      values: (u, splits) => splits.map((v) => (v === null || v === undefined ? "" : format(v))),
    };
    // Only set when wanted: an explicit undefined would replace uPlot's default increments.
    if (format === formatBytes) options.incrs = BYTE_INCREMENTS;
    return options;
  }

  function createChart(spec) {
    const container = byId(spec.id);
    const arrays = spec.series.map(() => []);
    history.perChart.set(spec.id, arrays);
    // Percentiles span decades (p50 in µs, p99.9 in ms): such charts use a log scale.
    const y = spec.logScale ? { distr: 3, log: 10 } : { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
    const scales = { x: { time: true }, y };
    const xAxis = {
      stroke: "#8b98a5",
      space: 70,
      size: 30, // one line of hh:mm:ss labels
      grid: { stroke: "rgba(255,255,255,0.07)", width: 1 },
      ticks: { stroke: "rgba(255,255,255,0.12)", width: 1 },
      values: (u, splits) => splits.map((v) => formatClock(v * 1000)),
    };
    const axes = [xAxis, axis("y", spec.format, 3)];
    const secondScale = spec.series.find((series) => series.scale);
    if (secondScale) {
      scales[secondScale.scale] = { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
      axes.push(axis(secondScale.scale, secondScale.format, 1));
    }
    const options = {
      width: Math.max(240, container.clientWidth),
      height: CHART_HEIGHT_PX,
      scales,
      axes,
      legend: { live: true },
      cursor: { points: { size: 6 } },
      series: [
        { value: (u, v) => (v === null ? "–" : formatClock(v * 1000)) },
        ...spec.series.map((series) => ({
          label: series.label,
          scale: series.scale ?? "y",
          stroke: series.color,
          width: 1.5,
          fill: series.fill ? series.color + "22" : undefined,
          points: { show: false },
          value: (u, v) => (v === null || v === undefined ? "–" : (series.format ?? spec.format)(v)),
        })),
      ],
    };
    charts[spec.id] = new uPlot(options, [history.seconds, ...arrays], container);
  }

  function appendPoint(xSeconds, stats, interval) {
    const last = history.seconds[history.seconds.length - 1];
    // uPlot needs x ascending; server clocks can step back, so never go below the last point.
    history.seconds.push(last !== undefined && xSeconds <= last ? last + 0.001 : xSeconds);
    for (const spec of CHART_SPECS) {
      const arrays = history.perChart.get(spec.id);
      spec.series.forEach((series, index) => {
        let value = null;
        if (stats) {
          try {
            value = series.read(stats, interval);
          } catch {
            value = null; // a field this server does not report: a gap, not a crash
          }
        }
        arrays[index].push(isNumber(value) ? value : null);
      });
    }
    if (history.seconds.length > HISTORY_POINTS_MAX) {
      history.seconds.shift();
      for (const arrays of history.perChart.values()) for (const array of arrays) array.shift();
      history.pointsDropped++;
    }
  }

  function redrawCharts() {
    const lastIndex = history.seconds.length - 1;
    for (const spec of CHART_SPECS) {
      const chart = charts[spec.id];
      if (!chart) continue;
      const arrays = history.perChart.get(spec.id);
      chart.setData([history.seconds, ...arrays]);
      // Say so when the server reports nothing for a chart (e.g. no pool on the fallback driver).
      const empty = arrays.every((values) => values.every((value) => value === null));
      byId(spec.id).parentElement.dataset.empty = String(empty && history.seconds.length > 0);
      // Show the newest values in the legend while the pointer is not over the chart.
      if (lastIndex >= 0 && chart.cursor.left < 0) chart.setLegend({ idx: lastIndex });
    }
    setFigure("history-points", history.seconds.length, String);
    setFigure("history-points-dropped", history.pointsDropped, String);
  }

  function resizeCharts() {
    for (const spec of CHART_SPECS) {
      const container = byId(spec.id);
      charts[spec.id]?.setSize({ width: Math.max(240, container.clientWidth), height: CHART_HEIGHT_PX });
    }
  }

  // ---- connection state and polling

  const state = {
    status: "connecting",
    polls: 0,
    failedPolls: 0,
    disconnectedSinceMs: null,
    lastError: "",
    previous: null,
  };

  function setStatus(status) {
    state.status = status;
    document.body.dataset.state = status;
    const label = { connecting: "connecting…", live: "live", disconnected: "disconnected" }[status];
    setText("status", label);
    byId("disconnected-banner").hidden = status !== "disconnected";
  }

  function noteRestart(previous, current) {
    if (!previous) return;
    if (previous.pid === current.pid && current.uptimeSeconds >= previous.uptimeSeconds) return;
    const notice = byId("restart-notice");
    notice.textContent = `Server restarted at ${formatClock(Date.now())} (pid ${previous.pid} → ${current.pid}); counters start again from zero.`;
    notice.hidden = false;
  }

  function onStats(stats) {
    if (!stats || typeof stats !== "object" || !isNumber(stats.timestampMs)) throw new Error("/stats answered without a timestampMs");
    noteRestart(state.previous, stats);
    const interval = intervalFigures(state.previous, stats);
    renderFigures(stats);
    appendPoint(stats.timestampMs / 1000, stats, interval);
    redrawCharts();
    state.previous = stats;
    state.failedPolls = 0;
    state.disconnectedSinceMs = null;
    document.body.dataset.snapshotMs = String(stats.timestampMs);
    setText("last-update", formatClock(Date.now()));
    setStatus("live");
  }

  function onFailure(error) {
    state.failedPolls++;
    state.lastError = error && error.name === "AbortError" ? `no answer in ${POLL_TIMEOUT_MS} ms` : String(error?.message ?? error);
    if (state.status !== "disconnected") {
      state.disconnectedSinceMs = Date.now();
      // One empty point so the lines break where the data stopped.
      const last = history.seconds[history.seconds.length - 1];
      if (last !== undefined) {
        appendPoint(last + POLL_INTERVAL_MS / 1000, null, null);
        redrawCharts();
      }
    }
    setText("disconnected-since", state.disconnectedSinceMs ? formatClock(state.disconnectedSinceMs) : "–");
    setFigure("failed-polls", state.failedPolls, String);
    setText("last-error", state.lastError);
    setStatus("disconnected");
  }

  async function fetchStats() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), POLL_TIMEOUT_MS);
    try {
      const response = await fetch(STATS_URL, { cache: "no-store", signal: controller.signal });
      if (!response.ok) throw new Error(`/stats answered HTTP ${response.status}`);
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  }

  async function poll() {
    const startedMs = performance.now();
    state.polls++;
    try {
      onStats(await fetchStats());
    } catch (error) {
      onFailure(error);
    }
    // setTimeout after each answer (not setInterval): a slow server never gets overlapping polls.
    setTimeout(poll, Math.max(0, POLL_INTERVAL_MS - (performance.now() - startedMs)));
  }

  function start() {
    setFigure("history-points-max", HISTORY_POINTS_MAX, String);
    // Without uPlot (asset missing) the figures and tables still work; only charts are lost.
    if (typeof uPlot === "function") {
      for (const spec of CHART_SPECS) createChart(spec);
    } else {
      console.warn("bun-rudp dashboard: uPlot did not load; charts are off");
      for (const spec of CHART_SPECS) history.perChart.set(spec.id, spec.series.map(() => []));
    }
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(resizeCharts, 100);
    });
    // For tests and the curious: what the page holds, read-only by convention.
    window.rudpDashboard = { state, charts, history, HISTORY_POINTS_MAX, POLL_INTERVAL_MS };
    void loadHistory().finally(() => void poll());
  }

  /** The server's recent snapshots, drawn before the first poll; a server without them: no loss. */
  async function loadHistory() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), POLL_TIMEOUT_MS);
    try {
      const response = await fetch(HISTORY_URL, { cache: "no-store", signal: controller.signal });
      if (!response.ok) return;
      const snapshots = await response.json();
      if (!Array.isArray(snapshots)) return;
      let previous = null;
      for (const stats of snapshots.slice(-HISTORY_POINTS_MAX)) {
        if (!stats || !isNumber(stats.timestampMs)) continue;
        appendPoint(stats.timestampMs / 1000, stats, intervalFigures(previous, stats));
        previous = stats;
      }
      state.previous = previous;
      history.pointsFromServerHistory = snapshots.length;
      redrawCharts();
    } catch (error) {
      console.warn(`bun-rudp dashboard: no history (${error?.message ?? error}); charts start now`);
    } finally {
      clearTimeout(timer);
    }
  }

  start();
})();
