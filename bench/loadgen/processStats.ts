// CPU and memory of other processes (the servers we spawn) from /proc, summed over the
// process and its descendants (for servers with worker processes).

import { readdirSync, readFileSync } from "node:fs";

const clockTicksPerSecond = 100; // USER_HZ on Linux x86-64

export interface ProcessSample {
  cpuSeconds: number;
  rssBytes: number;
  wallMs: number;
  pids: number[];
}

function readStat(pid: number): { ppid: number; cpuTicks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function readRssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function descendantsOf(rootPid: number): number[] {
  const childrenByParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat === null) continue;
    const list = childrenByParent.get(stat.ppid) ?? [];
    list.push(pid);
    childrenByParent.set(stat.ppid, list);
  }
  const result = [rootPid];
  for (let i = 0; i < result.length && i < 10_000; i++) result.push(...(childrenByParent.get(result[i]) ?? []));
  return result;
}

export function sampleProcessTree(rootPid: number): ProcessSample {
  const pids = descendantsOf(rootPid);
  let cpuTicks = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    cpuTicks += readStat(pid)?.cpuTicks ?? 0;
    rssBytes += readRssBytes(pid);
  }
  return { cpuSeconds: cpuTicks / clockTicksPerSecond, rssBytes, wallMs: performance.now(), pids };
}

/** CPU % (100 = one core) between two samples. */
export function cpuPercentBetween(before: ProcessSample, after: ProcessSample): number {
  const wallSeconds = (after.wallMs - before.wallMs) / 1000;
  return wallSeconds > 0 ? ((after.cpuSeconds - before.cpuSeconds) / wallSeconds) * 100 : 0;
}
