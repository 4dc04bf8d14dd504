// What the mutation run covers: the engine's wire, handshake, recovery, flow control and
// reassembly code (issue 17), and the test commands that must catch a mutant. Tests run in
// tiers: a mutant the fast tier kills never pays for the slower one.

export interface TargetPart {
  name: string;
  files: string[];
}

export const targetParts: TargetPart[] = [
  {
    name: "wire",
    files: ["src/protocol/wire/codec.ts", "src/protocol/wire/frames.ts", "src/protocol/wire/packet.ts", "src/protocol/wire/varint.ts", "src/protocol/wire/byteReader.ts",
      "src/protocol/wire/dataHeader.ts", "src/protocol/wire/longHeader.ts", "src/protocol/wire/cookie.ts"],
  },
  { name: "handshake", files: ["src/protocol/handshake/cookie.ts", "src/protocol/connection/handshake.ts"] },
  {
    name: "recovery",
    files: ["src/protocol/recovery/ackRanges.ts", "src/protocol/recovery/lossDetection.ts", "src/protocol/recovery/rtt.ts", "src/protocol/recovery/sentPackets.ts", "src/protocol/connection/ackState.ts"],
  },
  { name: "flow control", files: ["src/protocol/connection/flowControl.ts"] },
  { name: "reassembly", files: ["src/protocol/connection/reassembly.ts"] },
];

/** Test tiers, fastest first (paths relative to the repository). */
export const testTiers: string[][] = [
  ["test/protocol"],
  [
    "test/sim/handshake.test.ts",
    "test/sim/transfer.test.ts",
    "test/sim/channels.test.ts",
    "test/sim/lifecycle.test.ts",
    "test/sim/multi.test.ts",
    "test/sim/regressions.test.ts",
    "test/sim/fuzz.test.ts",
  ],
];
