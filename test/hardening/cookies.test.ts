// Address-validation cookies: a cookie replayed after its lifetime, or presented from an
// address (host or port) other than the one it was issued to, or forged, opens nothing and
// is counted by reason. On the wire against an in-process server with a short lifetime, and
// on the engine with a virtual clock at the default lifetime.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type RudpServer } from "../../src/index.ts";
import type { EngineCounters, PeerAddress, TransmitInfo } from "../../src/protocol/api.ts";
import { createEngine } from "../../src/protocol/index.ts";
import { defaultEngineConfig } from "../../src/protocol/config.ts";
import { engineDependencies } from "../../src/runtime/engineDependencies.ts";
import { RawPeer } from "../../tools/fuzz/rawPeer.ts";
import { craftInitial, PacketType, parseLong, randomConnectionId, retryCookie, type ConnectionId } from "../../tools/fuzz/wireCraft.ts";

const COOKIE_LIFETIME_MS = 300;
let server: RudpServer;
let port = 0;

beforeAll(async () => {
  server = createServer({ host: "127.0.0.1", port: 0, cookieLifetimeMs: COOKIE_LIFETIME_MS });
  port = (await server.listen()).port;
});

afterAll(async () => {
  await server.close();
});

function counters(): EngineCounters {
  return server.endpoint!.engine.counters;
}

async function cookieFor(peer: RawPeer, id: ConnectionId): Promise<Uint8Array> {
  peer.send(craftInitial(id, null));
  const retry = await peer.take((d) => d[0] === PacketType.retry, 2000);
  expect(retry).not.toBeNull();
  return retryCookie(parseLong(retry!)!)!;
}

async function handshakeAnswered(peer: RawPeer, timeoutMs: number): Promise<boolean> {
  return (await peer.take((d) => d[0] === PacketType.handshake, timeoutMs)) !== null;
}

test("control: a fresh cookie from the same address is accepted", async () => {
  const peer = await RawPeer.open({ host: "127.0.0.1", port }, "127.30.0.1");
  const id = randomConnectionId();
  const cookie = await cookieFor(peer, id);
  peer.send(craftInitial(id, cookie));
  expect(await handshakeAnswered(peer, 2000)).toBe(true);
  peer.close();
});

test("a cookie replayed after its lifetime is refused and counted as expired-cookie", async () => {
  const peer = await RawPeer.open({ host: "127.0.0.1", port }, "127.30.0.2");
  const id = randomConnectionId();
  const cookie = await cookieFor(peer, id);
  await Bun.sleep(COOKIE_LIFETIME_MS + 200);
  const before = { expired: counters().drops["expired-cookie"] ?? 0, opened: counters().connectionsOpened };
  peer.send(craftInitial(id, cookie));
  expect(await handshakeAnswered(peer, 500)).toBe(false);
  console.log(`[cookies] expired replay: drops ${JSON.stringify(counters().drops)}, handshakesFailed ${JSON.stringify(counters().handshakesFailed)}`);
  expect(counters().drops["expired-cookie"] ?? 0).toBe(before.expired + 1);
  expect(counters().connectionsOpened).toBe(before.opened);
  peer.close();
});

test("a cookie presented from another address, or another port of the same address, is refused as bad-cookie", async () => {
  const owner = await RawPeer.open({ host: "127.0.0.1", port }, "127.30.0.3");
  const id = randomConnectionId();
  const cookie = await cookieFor(owner, id);
  const otherHost = await RawPeer.open({ host: "127.0.0.1", port }, "127.30.0.4");
  const otherPort = await RawPeer.open({ host: "127.0.0.1", port }, "127.30.0.3");
  const before = { bad: counters().drops["bad-cookie"] ?? 0, opened: counters().connectionsOpened };
  // All within the lifetime: the other host, the other port, a forged MAC, another connection ID,
  // and then the owner itself (the control: the cookie was good).
  otherHost.send(craftInitial(id, cookie));
  otherPort.send(craftInitial(id, cookie));
  owner.send(craftInitial(id, crypto.getRandomValues(new Uint8Array(cookie.length))));
  owner.send(craftInitial(randomConnectionId(), cookie));
  await Bun.sleep(50);
  expect(counters().drops["bad-cookie"] ?? 0).toBe(before.bad + 4);
  expect(counters().connectionsOpened).toBe(before.opened);
  owner.send(craftInitial(id, cookie));
  expect(await handshakeAnswered(owner, 2000)).toBe(true);
  expect(await handshakeAnswered(otherHost, 10)).toBe(false);
  expect(await handshakeAnswered(otherPort, 10)).toBe(false);
  expect(counters().connectionsOpened).toBe(before.opened + 1);
  for (const peer of [owner, otherHost, otherPort]) peer.close();
});

test("engine, virtual clock: a cookie is good up to cookieLifetimeUs (default) and expired after", () => {
  const lifetimeUs = defaultEngineConfig("server").cookieLifetimeUs;
  const from: PeerAddress = { family: 4, host: "127.0.0.9", port: 40_000 };
  const out = new Uint8Array(1500);
  const info: TransmitInfo = { length: 0, to: null };
  const outcome = (echoDelayUs: number): { handshake: boolean; drops: Record<string, number> } => {
    const engine = createEngine({ role: "server" }, engineDependencies());
    const id = randomConnectionId();
    engine.handleDatagram(0, craftInitial(id, null), from);
    let cookie: Uint8Array | null = null;
    for (let i = 0; i < 8 && engine.pollTransmit(0, out, info); i++) {
      if (out[0] === PacketType.retry) cookie = retryCookie(parseLong(out.slice(0, info.length))!);
    }
    expect(cookie).not.toBeNull();
    engine.handleDatagram(echoDelayUs, craftInitial(id, cookie), from);
    let handshake = false;
    for (let i = 0; i < 8 && engine.pollTransmit(echoDelayUs, out, info); i++) if (out[0] === PacketType.handshake) handshake = true;
    return { handshake, drops: { ...engine.counters.drops } };
  };
  expect(outcome(lifetimeUs - 1).handshake).toBe(true);
  const late = outcome(lifetimeUs + 1);
  expect(late.handshake).toBe(false);
  expect(late.drops["expired-cookie"]).toBe(1);
  const muchLater = outcome(3600e6);
  expect(muchLater.drops["expired-cookie"]).toBe(1);
  console.log(`[cookies] engine lifetime ${lifetimeUs / 1e6} s: accepted at lifetime-1us, expired at lifetime+1us and at 1 h`);
});
