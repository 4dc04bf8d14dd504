// NUMA topology from sysfs (/sys/devices/system/node/node*/cpulist) and where the calling
// thread runs (getcpu through zig/src/numa.zig). Plain objects, no native handles.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { native } from "./load.ts";

export const sysfsNodeRoot = "/sys/devices/system/node";
/** Bound on CPUs parsed from one cpulist; a larger list is cut and flagged. */
const cpusPerListMax = 8192;

export interface NumaNode {
  node: number;
  cpus: number[];
}

export interface NumaTopology {
  /** "sysfs", or "assumed" (one node holding every CPU) when sysfs has no node directory. */
  source: "sysfs" | "assumed";
  nodeCount: number;
  nodes: NumaNode[];
  /** True when a cpulist was longer than cpusPerListMax and was cut. */
  truncated: boolean;
}

/** Parses a kernel cpulist such as "0-3,8,10-11". Malformed parts are skipped. */
export function parseCpuList(text: string, limit = cpusPerListMax): { cpus: number[]; truncated: boolean } {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) continue;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu++) {
      if (cpus.length >= limit) return { cpus, truncated: true };
      cpus.push(cpu);
    }
  }
  return { cpus, truncated: false };
}

export function numaTopology(root = sysfsNodeRoot): NumaTopology {
  const nodeNames = existsSync(root) ? readdirSync(root).filter((name) => /^node\d+$/.test(name)) : [];
  if (nodeNames.length === 0) {
    const cpuCount = navigator.hardwareConcurrency;
    return { source: "assumed", nodeCount: 1, nodes: [{ node: 0, cpus: Array.from({ length: cpuCount }, (_, i) => i) }], truncated: false };
  }
  let truncated = false;
  const nodes = nodeNames
    .map((name) => {
      const listPath = join(root, name, "cpulist");
      const parsed = existsSync(listPath) ? parseCpuList(readFileSync(listPath, "utf8")) : { cpus: [], truncated: false };
      truncated ||= parsed.truncated;
      return { node: Number(name.slice(4)), cpus: parsed.cpus };
    })
    .sort((a, b) => a.node - b.node);
  return { source: "sysfs", nodeCount: nodes.length, nodes, truncated };
}

const whereBuffer = new Uint32Array(2);

/** CPU and NUMA node the calling thread runs on now (getcpu), or null without the library. */
export function currentCpuAndNode(): { cpu: number; node: number } | null {
  if (!native || native.rudp_numa_current(whereBuffer) !== 0) return null;
  return { cpu: whereBuffer[0]!, node: whereBuffer[1]! };
}

/** Node holding the touched page at a native address (get_mempolicy), or null if refused. */
export function nodeOfAddress(address: number): number | null {
  if (!native) return null;
  const node = native.rudp_numa_node_of_address(address as never);
  return node >= 0 ? node : null;
}
