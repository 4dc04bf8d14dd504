// Amplification: whatever an unvalidated address sends, the server sends it back at most 3x
// the bytes. Each attack runs from its own raw socket on its own 127/8 address (a new,
// unvalidated source), which counts every byte both ways; none ever echoes a genuine cookie.
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { createServer, type RudpServer } from "../../src/index.ts";
import { sameAddress, type PeerAddress, type TransmitInfo } from "../../src/protocol/api.ts";
import { createEngine } from "../../src/protocol/index.ts";
import { engineDependencies } from "../../src/runtime/engineDependencies.ts";
import { SeededRandom } from "../../bench/loadgen/prng.ts";
import { RawPeer } from "../../tools/fuzz/rawPeer.ts";
import {
  ackFrame,
  closeFrame,
  craftData,
  craftInitial,
  PacketType,
  pingFrame,
  randomConnectionId,
  resealChecksum,
} from "../../tools/fuzz/wireCraft.ts";

const AMPLIFICATION_FACTOR_MAX = 3;
const SEED = Number(process.env.HARDENING_SEED ?? 0x5eed);
let server: RudpServer;
let port = 0;
let addressIndex = 0;

beforeAll(async () => {
  server = createServer({ host: "127.0.0.1", port: 0 });
  port = (await server.listen()).port;
});

afterAll(async () => {
  await server.close();
});

async function attacker(): Promise<RawPeer> {
  addressIndex++;
  return RawPeer.open({ host: "127.0.0.1", port }, `127.20.${addressIndex >>> 8}.${(addressIndex & 0xff) || 1}`);
}

interface AttackOutcome {
  sent: number;
  received: number;
  replies: number;
  /** Packet type of every reply, in arrival order. */
  replyTypes: number[];
}

/** Sends the sequence, waits for the answers, returns the ratio and what came back. Then, from
 *  the same socket, one valid INITIAL must still draw a RETRY: a server that has stopped
 *  answering (or never did) fails here instead of passing every "at most 3x" bound. */
async function runAttack(name: string, datagrams: Uint8Array[]): Promise<AttackOutcome> {
  const peer = await attacker();
  for (const datagram of datagrams) {
    peer.send(datagram);
    if (peer.datagramsSent % 64 === 0) await Bun.sleep(1); // stay under the socket buffers
  }
  await Bun.sleep(300);
  const outcome: AttackOutcome = { sent: peer.bytesSent, received: peer.bytesReceived, replies: peer.datagramsReceived, replyTypes: peer.inbox.map((d) => d[0]!) };
  peer.inbox.length = 0;
  peer.send(craftInitial(randomConnectionId(), null));
  const probe = await peer.take((d) => d[0] === PacketType.retry, 2000);
  peer.close();
  console.log(`[amplification] ${name}: sent ${outcome.sent} B in ${datagrams.length} datagrams, got back ${outcome.received} B in ${outcome.replies} (ratio ${(outcome.received / Math.max(1, outcome.sent)).toFixed(3)})`);
  expect(outcome.received).toBeLessThanOrEqual(AMPLIFICATION_FACTOR_MAX * outcome.sent);
  expect(probe).not.toBeNull(); // the server is alive and answers a valid INITIAL from this address
  return outcome;
}

function countOf(types: number[], type: number): number {
  return types.filter((t) => t === type).length;
}

function randomBytes(prng: SeededRandom, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = prng.nextInt(256);
  return out;
}

function shrunk(datagram: Uint8Array, length: number): Uint8Array {
  const out = datagram.slice(0, length);
  resealChecksum(out);
  return out;
}

function withType(datagram: Uint8Array, type: number): Uint8Array {
  const out = datagram.slice();
  out[0] = type;
  resealChecksum(out);
  return out;
}

test("one valid INITIAL: the RETRY is within 3x", async () => {
  const outcome = await runAttack("one INITIAL", [craftInitial(randomConnectionId(), null)]);
  expect(outcome.replies).toBeGreaterThan(0); // the server did answer: the bound was exercised
});

test("200 INITIALs, fresh and repeated connection IDs", async () => {
  const id = randomConnectionId();
  const datagrams = Array.from({ length: 200 }, (_, i) => craftInitial(i % 2 === 0 ? id : randomConnectionId(), null));
  const outcome = await runAttack("200 INITIALs", datagrams);
  expect(countOf(outcome.replyTypes, PacketType.retry)).toBe(200); // one RETRY each, and nothing else
  expect(outcome.replies).toBe(200);
});

test("unsupported versions (version negotiation) from full-size and tiny INITIALs", async () => {
  const datagrams: Uint8Array[] = [];
  for (const version of [0, 2, 0xdeadbeef, 0xffffffff]) {
    const full = craftInitial(randomConnectionId(), null, version);
    datagrams.push(full, shrunk(full, 40), shrunk(full, 26));
  }
  const outcome = await runAttack("unsupported versions", datagrams);
  // Each full-size INITIAL draws one VERSION NEGOTIATION; a short one is too small to answer.
  expect(outcome.replyTypes).toEqual([PacketType.versionNegotiation, PacketType.versionNegotiation, PacketType.versionNegotiation, PacketType.versionNegotiation]);
});

test("short INITIALs (under 1200 bytes), forged and oversized cookies, and every long-header type", async () => {
  const prng = new SeededRandom(SEED);
  const datagrams: Uint8Array[] = [];
  const initial = craftInitial(randomConnectionId(), null);
  for (const length of [5, 21, 26, 27, 100, 600, 1199]) datagrams.push(shrunk(initial, length));
  for (const cookieLength of [0, 1, 23, 24, 25, 64]) datagrams.push(craftInitial(randomConnectionId(), randomBytes(prng, cookieLength)));
  for (const type of [PacketType.retry, PacketType.handshake, PacketType.versionNegotiation, PacketType.reject, 0x00, 0x06, 0x0f, 0x11, 0xff]) {
    datagrams.push(withType(initial, type), shrunk(withType(initial, type), 30));
  }
  const outcome = await runAttack("short/forged/odd types", datagrams);
  // Only the INITIAL with an empty cookie is a valid first INITIAL: it draws a RETRY. Short
  // INITIALs, forged cookies and other types get nothing, and no forged cookie opens a connection.
  expect(outcome.replyTypes).toEqual([PacketType.retry]);
});

test("DATA packets for unknown connections: ACK, PING, CLOSE, garbage frames", async () => {
  const prng = new SeededRandom(SEED + 1);
  const datagrams: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const id = randomConnectionId();
    datagrams.push(craftData(id, i, ackFrame(i * 10, 3)), craftData(id, i, pingFrame()), craftData(id, i, closeFrame("graceful")));
    datagrams.push(craftData(id, i, randomBytes(prng, 1 + prng.nextInt(200))));
  }
  const outcome = await runAttack("DATA for unknown connections", datagrams);
  // A connection ID the server does not know is dropped silently (no reset, nothing to reflect).
  expect(outcome.replies).toBe(0);
});

test("a seeded random mix of 2000 datagrams, valid and mutated, from one address", async () => {
  const prng = new SeededRandom(SEED + 2);
  const datagrams: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const pick = prng.nextInt(6);
    if (pick === 0) datagrams.push(craftInitial(randomConnectionId(), null));
    else if (pick === 1) datagrams.push(randomBytes(prng, 1 + prng.nextInt(1400)));
    else if (pick === 2) datagrams.push(shrunk(craftInitial(randomConnectionId(), null), 5 + prng.nextInt(1195)));
    else if (pick === 3) datagrams.push(craftInitial(randomConnectionId(), randomBytes(prng, 24)));
    else if (pick === 4) datagrams.push(craftData(randomConnectionId(), prng.nextInt(1 << 30), randomBytes(prng, prng.nextInt(100))));
    else {
      const mutated = craftInitial(randomConnectionId(), null);
      for (let flips = 0; flips < 4; flips++) mutated[prng.nextInt(60)] ^= 1 << prng.nextInt(8);
      resealChecksum(mutated);
      datagrams.push(mutated);
    }
  }
  console.log(`[amplification] seed ${SEED + 2}`);
  const outcome = await runAttack("random mix", datagrams);
  // Valid INITIALs were in the mix, so there were answers; none of them opened a connection.
  expect(countOf(outcome.replyTypes, PacketType.retry)).toBeGreaterThan(0);
  expect(countOf(outcome.replyTypes, PacketType.handshake)).toBe(0);
});

test("the engine's own ledger agrees: unvalidated bytes sent <= 3x unvalidated bytes received", () => {
  const counters = server.endpoint!.engine.counters as unknown as { unvalidatedBytesSent?: number; unvalidatedBytesReceived?: number; limitRefusals: Record<string, number> };
  console.log(`[amplification] engine: unvalidated received ${counters.unvalidatedBytesReceived} B, sent ${counters.unvalidatedBytesSent} B; limit refusals ${JSON.stringify(counters.limitRefusals)}`);
  expect(counters.unvalidatedBytesReceived).toBeGreaterThan(0);
  expect(counters.unvalidatedBytesSent!).toBeLessThanOrEqual(AMPLIFICATION_FACTOR_MAX * counters.unvalidatedBytesReceived!);
});

test("property (engine, virtual time): any sequence from an unvalidated address gets back at most 3x its bytes", () => {
  // fast-check builds sequences of valid, truncated, forged, retyped and random datagrams from
  // one address and shrinks any counterexample; the engine runs on a virtual clock.
  const from: PeerAddress = { family: 4, host: "192.0.2.7", port: 5555 };
  const out = new Uint8Array(65_536);
  const info: TransmitInfo = { length: 0, to: null };
  const datagram = fc.oneof(
    fc.constant(null).map(() => craftInitial(randomConnectionId(), null)),
    fc.uint8Array({ minLength: 0, maxLength: 64 }).map((token) => craftInitial(randomConnectionId(), token)),
    fc.integer({ min: 1, max: 1199 }).map((length) => shrunk(craftInitial(randomConnectionId(), null), length)),
    fc.integer({ min: 0, max: 255 }).map((type) => withType(craftInitial(randomConnectionId(), null), type)),
    fc.integer({ min: 0, max: 0xffffffff }).map((version) => craftInitial(randomConnectionId(), null, version)),
    fc.uint8Array({ minLength: 0, maxLength: 1500 }),
    fc.uint8Array({ minLength: 5, maxLength: 1500 }).map((bytes) => {
      resealChecksum(bytes);
      return bytes;
    }),
  );
  let runs = 0;
  let repliesSeen = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(datagram, fc.integer({ min: 0, max: 2_000_000 })), { minLength: 1, maxLength: 40 }), (sequence) => {
      const engine = createEngine({ role: "server" }, engineDependencies());
      let nowUs = 0;
      let received = 0;
      let sent = 0;
      for (const [bytes, gapUs] of sequence) {
        nowUs += gapUs;
        engine.handleDatagram(nowUs, bytes, from);
        received += bytes.length;
        for (let i = 0; i < 64 && engine.pollTransmit(nowUs, out, info); i++) {
          if (info.to && sameAddress(info.to, from)) sent += info.length;
        }
        engine.handleTimeout(nowUs);
        if (sent > AMPLIFICATION_FACTOR_MAX * received) return false;
      }
      runs++;
      if (sent > 0) repliesSeen++;
      return true;
    }),
    { numRuns: 300, seed: SEED },
  );
  console.log(`[amplification] property: ${runs} sequences (seed ${SEED}), ${repliesSeen} drew replies, none over 3x`);
  expect(repliesSeen).toBeGreaterThan(0);
});
