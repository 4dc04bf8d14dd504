// NUMA topology from sysfs and getcpu, checked against /sys and the process's CPUs.
import { expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { currentCpuAndNode, numaTopology, parseCpuList, sysfsNodeRoot } from "../../src/native/numa.ts";

test("parseCpuList reads ranges and singles, skips junk, and is bounded", () => {
  expect(parseCpuList("0-3,8,10-11\n").cpus).toEqual([0, 1, 2, 3, 8, 10, 11]);
  expect(parseCpuList("").cpus).toEqual([]);
  expect(parseCpuList("x,2,3-a").cpus).toEqual([2]);
  expect(parseCpuList("0-100000", 16)).toEqual({ cpus: Array.from({ length: 16 }, (_, i) => i), truncated: true });
});

test("topology matches /sys/devices/system/node", () => {
  const topology = numaTopology();
  const nodeDirs = readdirSync(sysfsNodeRoot).filter((name) => /^node\d+$/.test(name));
  expect(topology.source).toBe("sysfs");
  expect(topology.nodeCount).toBe(nodeDirs.length);
  for (const node of topology.nodes) {
    const text = readFileSync(`${sysfsNodeRoot}/node${node.node}/cpulist`, "utf8");
    expect(node.cpus).toEqual(parseCpuList(text).cpus);
  }
  const allCpus = topology.nodes.flatMap((node) => node.cpus);
  expect(new Set(allCpus).size).toBe(allCpus.length); // a CPU is on one node
  expect(allCpus.length).toBeGreaterThanOrEqual(navigator.hardwareConcurrency);
});

test("a missing sysfs gives one assumed node with every CPU", () => {
  const topology = numaTopology("/nonexistent-sysfs");
  expect(topology.source).toBe("assumed");
  expect(topology.nodeCount).toBe(1);
  expect(topology.nodes[0]!.cpus.length).toBe(navigator.hardwareConcurrency);
});

test("getcpu names a CPU and node that the topology holds", () => {
  const where = currentCpuAndNode();
  expect(where).not.toBeNull();
  const node = numaTopology().nodes.find((candidate) => candidate.node === where!.node);
  expect(node).toBeDefined();
  expect(node!.cpus).toContain(where!.cpu);
});
