// Scenario building blocks shared by the *.test.ts files and the seed sweep: a client and a
// server on an impaired path, a planned workload in both directions, and the checks every run
// ends with (everything reliable delivered, buffers drained, both sides closed as expected,
// nothing left scheduled).

import type { CloseReason, DeliveryMode, EngineConfig } from "../../src/protocol/api.ts";
import { addressKey, SimConnection, SimEndpoint, Simulation, type EngineFactory } from "./harness.ts";
import { perfectLink, type LinkImpairments } from "./network.ts";
import type { Prng } from "./prng.ts";

/** The seed a scenario runs with: SIM_SEED when set (to replay a failure), else its default. */
export function scenarioSeed(defaultSeed: number): number {
  const fromEnvironment = process.env.SIM_SEED;
  if (fromEnvironment === undefined || fromEnvironment === "") return defaultSeed;
  const seed = Number(fromEnvironment);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`SIM_SEED must be an integer in [0, 2^32), got ${fromEnvironment}`);
  return seed;
}

export function impaired(overrides: Partial<LinkImpairments>): LinkImpairments {
  return { ...perfectLink(), ...overrides };
}

export interface FlowPlan {
  /** "up": client to server; "down": server to client. */
  direction: "up" | "down";
  channel: number;
  mode: DeliveryMode;
  count: number;
  lengthBytes: number | ((prng: Prng) => number);
}

export interface TransferOptions {
  impairments: LinkImpairments;
  flows: FlowPlan[];
  clientConfig?: Partial<EngineConfig>;
  serverConfig?: Partial<EngineConfig>;
  /** Virtual time allowed for handshake + transfer. */
  transferLimitUs: number;
  /** Who closes at the end; "none" leaves the connection open. */
  closer?: "client" | "server" | "none";
  /** The reason the closer's peer must report; default "graceful". */
  peerCloseReasons?: CloseReason[];
  /** The engine to run; default the engine under test. */
  factory?: EngineFactory;
}

export interface TransferResult {
  simulation: Simulation;
  client: SimEndpoint;
  server: SimEndpoint;
  clientConnection: SimConnection;
  serverConnection: SimConnection;
  handshakeUs: number;
  transferUs: number;
  reliableBytes: number;
}

/** Channel modes for the engines, from the flows planned on them. */
function channelModes(flows: FlowPlan[]): Partial<Record<number, DeliveryMode>> {
  const modes: Partial<Record<number, DeliveryMode>> = {};
  for (const flow of flows) modes[flow.channel] = flow.mode;
  return modes;
}

export function runTransfer(scenario: string, seed: number, options: TransferOptions): TransferResult {
  const simulation = new Simulation(scenario, seed, options.impairments, options.factory);
  const modes = channelModes(options.flows);
  const server = simulation.addEndpoint({ name: "server", role: "server", config: { channelModes: modes, ...options.serverConfig } });
  const client = simulation.addEndpoint({ name: "client", role: "client", config: { channelModes: modes, ...options.clientConfig } });
  const workloadPrng = simulation.prng.fork();
  let serverConnection: SimConnection | null = null;
  const planFlows = (connection: SimConnection, direction: "up" | "down", sender: string, receiver: string): void => {
    for (const plan of options.flows) {
      if (plan.direction !== direction) continue;
      const flow = simulation.ledger.createFlow(sender, receiver, plan.channel, plan.mode);
      const length = plan.lengthBytes;
      simulation.plan(connection, flow, plan.count, typeof length === "number" ? length : () => length(workloadPrng));
    }
  };
  server.onConnected = (connection) => {
    if (serverConnection !== null) simulation.fail(`server: a second connection ${connection.handle} from ${connection.peerName}`);
    serverConnection = connection;
    planFlows(connection, "down", "server", "client");
  };
  const clientConnection = simulation.connect(client, server);
  planFlows(clientConnection, "up", "client", "server");

  const limit = { virtualUs: options.transferLimitUs };
  const stillOpen = (): boolean => {
    for (const connection of [clientConnection, serverConnection as SimConnection | null]) {
      if (connection?.closed) closedEarly(simulation, connection);
    }
    return true;
  };
  simulation.runUntil("handshake", () => stillOpen() && clientConnection.connectedAtUs >= 0 && serverConnection !== null, limit);
  const handshakeUs = simulation.nowUs;
  const connection = serverConnection as unknown as SimConnection;
  simulation.runUntil(
    "transfer",
    () => stillOpen() && clientConnection.outboxEmpty && connection.outboxEmpty && simulation.ledger.reliableComplete(),
    { virtualUs: Math.max(1, options.transferLimitUs - simulation.nowUs) },
  );
  const transferUs = simulation.nowUs - handshakeUs;
  checkNoUndelivered(simulation);
  // Everything delivered is acknowledged soon after: the send buffers must empty.
  simulation.runUntil("acknowledge", () => stillOpen() && bufferedBytes(client, clientConnection) === 0 && bufferedBytes(server, connection) === 0, {
    // Unreliable data still queued (it is not part of the transfer goal) drains at the
    // congestion controller's pace: allow what is left of the scenario's budget.
    virtualUs: Math.max(60e6, options.transferLimitUs - simulation.nowUs),
  });

  const result: TransferResult = {
    simulation,
    client,
    server,
    clientConnection,
    serverConnection: connection,
    handshakeUs,
    transferUs,
    reliableBytes: reliableBytesDelivered(simulation),
  };
  const closer = options.closer ?? "client";
  if (closer !== "none") closeAndSettle(result, closer, options.peerCloseReasons ?? ["graceful"]);
  return result;
}

/** A connection closed before its transfer ended. Only an idle-timeout after a real silence of
 *  idleTimeoutUs (the network lost everything from the peer) is legitimate, and then the run is
 *  inconclusive; anything else is an engine failure. */
function closedEarly(simulation: Simulation, connection: SimConnection): never {
  const closed = connection.closed!;
  const endpoint = connection.endpoint;
  if (closed.reason === "idle-timeout") {
    const lastHeardUs = endpoint.lastHeardUs.get(addressKey(connection.remote)) ?? 0;
    // 1 us of slack: both times are fractional microseconds and their difference rounds.
    const silentUs = closed.atUs - lastHeardUs + 1;
    // Inconclusive only if the peer kept sending and the network lost it all; a peer that sent
    // nothing (no keepalive, no probe) for the whole timeout is an engine failure.
    const peer = simulation.endpointAt(connection.remote);
    const peerSent = peer?.sentCountTo.get(addressKey(endpoint.address)) ?? 0;
    const peerSentBefore = endpoint.peerSentCountAtLastHeard.get(addressKey(connection.remote)) ?? 0;
    if (silentUs >= endpoint.config.idleTimeoutUs && peerSent > peerSentBefore) {
      simulation.inconclusive(
        `${endpoint.name}: the network lost all ${peerSent - peerSentBefore} datagrams ${connection.peerName} sent in ${(silentUs / 1e6).toFixed(1)} s; idle-timeout is right`,
      );
    }
    if (silentUs >= endpoint.config.idleTimeoutUs) simulation.fail(`${endpoint.name}: idle-timeout: ${connection.peerName} sent nothing for ${(silentUs / 1e6).toFixed(1)} s`);
    simulation.fail(`${endpoint.name}: idle-timeout after only ${(silentUs / 1e6).toFixed(3)} s without hearing from ${connection.peerName} (idleTimeoutUs ${endpoint.config.idleTimeoutUs})`);
  }
  simulation.fail(`${endpoint.name}: connection closed before the transfer ended: ${closed.reason}`);
}

/** The closer closes gracefully; both sides must report it, then the engines hold nothing. */
export function closeAndSettle(result: TransferResult, closer: "client" | "server", peerReasons: CloseReason[]): void {
  const { simulation, client, server, clientConnection, serverConnection } = result;
  const closing = closer === "client" ? clientConnection : serverConnection;
  const peer = closer === "client" ? serverConnection : clientConnection;
  simulation.close(closing, "graceful", true);
  simulation.runUntil("close", () => closing.closed !== null && peer.closed !== null, { virtualUs: 120e6 });
  if (closing.closed!.reason !== "graceful") simulation.fail(`${closer} closed gracefully but reported "${closing.closed!.reason}"`);
  if (!peerReasons.includes(peer.closed!.reason) && !closeLostInNetwork(closing, peer)) {
    simulation.fail(`peer of ${closer} reported "${peer.closed!.reason}", expected ${peerReasons.join(" or ")}`);
  }
  settle(simulation, [client, server]);
}

/** The peer may only fall back to idle-timeout when nothing the closer sent from its closed
 *  event on (the CLOSE and every echo of it) reached the peer intact. */
function closeLostInNetwork(closing: SimConnection, peer: SimConnection): boolean {
  if (peer.closed!.reason !== "idle-timeout") return false;
  const heardSequence = peer.endpoint.latestSequenceHeard.get(addressKey(closing.endpoint.address)) ?? -1;
  const lost = heardSequence < closing.closed!.networkSequence;
  if (lost) console.log(`[${peer.endpoint.simulation.scenario}] seed=${peer.endpoint.simulation.seed}: every datagram after the close was lost; the peer's idle-timeout is the right outcome`);
  return lost;
}

/** After every connection closed: no active connections, and nothing scheduled forever. */
export function settle(simulation: Simulation, endpoints: SimEndpoint[]): void {
  simulation.runUntilQuiescent("settle", { virtualUs: 300e6 });
  for (const endpoint of endpoints) {
    if (!endpoint.alive) continue;
    const active = endpoint.engine.counters.connectionsActive;
    if (active !== 0) simulation.fail(`${endpoint.name}: ${active} connections still active after every connection closed`);
  }
}

export function checkNoUndelivered(simulation: Simulation): void {
  const missing = simulation.ledger.undelivered();
  if (missing.length > 0) simulation.fail(`reliable messages not delivered:\n  ${missing.join("\n  ")}`);
}

function bufferedBytes(endpoint: SimEndpoint, connection: SimConnection): number {
  return endpoint.engine.bufferedBytes(connection.handle);
}

function reliableBytesDelivered(simulation: Simulation): number {
  let bytes = 0;
  for (const flow of simulation.ledger.flows) if (flow.mode === "reliable-ordered" || flow.mode === "reliable-unordered") bytes += flow.deliveredBytes;
  return bytes;
}

/** A corrupted datagram that reaches an engine must be dropped as a checksum failure. */
export function checkCorruptionCaught(simulation: Simulation, endpoints: SimEndpoint[]): void {
  for (const endpoint of endpoints) {
    const dropped = endpoint.engine.counters.drops.checksum ?? 0;
    if (dropped !== endpoint.corruptedDelivered) {
      simulation.fail(`${endpoint.name}: ${endpoint.corruptedDelivered} corrupted datagrams arrived, drops.checksum is ${dropped}`);
    }
  }
}

export function formatSummary(result: TransferResult): string {
  const { simulation } = result;
  const network = simulation.network.counters;
  const stats = result.client.engine.connectionStats(result.clientConnection.handle);
  const megabytesPerSecond = result.transferUs > 0 ? result.reliableBytes / result.transferUs : 0;
  return (
    `[${simulation.scenario}] seed=${simulation.seed}: handshake ${(result.handshakeUs / 1e3).toFixed(1)} ms, ` +
    `${(result.reliableBytes / 1e6).toFixed(2)} MB reliable in ${(result.transferUs / 1e6).toFixed(2)} s virtual (${megabytesPerSecond.toFixed(2)} MB/s), ` +
    `net sent ${network.sent} dropped ${JSON.stringify(network.dropped)} corrupted ${network.corrupted} dup ${network.duplicated}` +
    (stats === null ? "" : `, client retransmitted ${stats.packetsRetransmitted}`) +
    `, ${simulation.steps} steps`
  );
}

export interface ConnectedPair {
  simulation: Simulation;
  client: SimEndpoint;
  server: SimEndpoint;
  clientConnection: SimConnection;
  serverConnection: SimConnection;
}

/** A client and a server, connected (the handshake is run to completion). */
export function connectPair(scenario: string, seed: number, impairments: LinkImpairments, config: Partial<EngineConfig> = {}): ConnectedPair {
  const simulation = new Simulation(scenario, seed, impairments);
  const server = simulation.addEndpoint({ name: "server", role: "server", config });
  const client = simulation.addEndpoint({ name: "client", role: "client", config });
  let serverConnection: SimConnection | null = null;
  server.onConnected = (connection) => {
    serverConnection = connection;
  };
  const clientConnection = simulation.connect(client, server);
  simulation.runUntil("handshake", () => clientConnection.connectedAtUs >= 0 && serverConnection !== null, { virtualUs: 60e6 });
  return { simulation, client, server, clientConnection, serverConnection: serverConnection as unknown as SimConnection };
}

export interface MultiClientOptions {
  clientCount: number;
  impairments: LinkImpairments;
  /** Modes by channel; every client and the server send `messagesPerFlow` on each, both ways. */
  modes: DeliveryMode[];
  messagesPerFlow: number;
  lengthBytesMax: number;
  config?: Partial<EngineConfig>;
  transferLimitUs: number;
}

/** N clients connect to one server and transfer both ways at once; half the clients close,
 *  the server closes the others; every pair must agree on "graceful". */
export function runMultiClient(scenario: string, seed: number, options: MultiClientOptions): Simulation {
  const simulation = new Simulation(scenario, seed, options.impairments);
  const modes: Partial<Record<number, DeliveryMode>> = {};
  options.modes.forEach((mode, channel) => (modes[channel] = mode));
  const config = { ...options.config, channelModes: modes };
  const server = simulation.addEndpoint({ name: "server", role: "server", config });
  const workloadPrng = simulation.prng.fork();
  const planAll = (connection: SimConnection, sender: string, receiver: string): void => {
    options.modes.forEach((mode, channel) => {
      const flow = simulation.ledger.createFlow(sender, receiver, channel, mode);
      simulation.plan(connection, flow, options.messagesPerFlow, () => workloadPrng.between(20, options.lengthBytesMax));
    });
  };
  const serverConnections: SimConnection[] = [];
  server.onConnected = (connection) => {
    serverConnections.push(connection);
    planAll(connection, "server", connection.peerName);
  };
  const clients: SimEndpoint[] = [];
  const clientConnections: SimConnection[] = [];
  for (let i = 0; i < options.clientCount; i++) {
    const client = simulation.addEndpoint({ name: `client${i}`, role: "client", config });
    clients.push(client);
    simulation.at(i * 5_000, () => {
      const connection = simulation.connect(client, server);
      clientConnections.push(connection);
      planAll(connection, client.name, "server");
    });
  }
  const all = (): SimConnection[] => [...clientConnections, ...serverConnections];
  const stillOpen = (): boolean => {
    for (const connection of all()) if (connection.closed !== null) closedEarly(simulation, connection);
    return true;
  };
  simulation.runUntil(
    "transfer",
    () =>
      stillOpen() &&
      serverConnections.length === options.clientCount &&
      clientConnections.length === options.clientCount &&
      all().every((c) => c.outboxEmpty) &&
      simulation.ledger.reliableComplete(),
    { virtualUs: options.transferLimitUs },
  );
  checkNoUndelivered(simulation);
  const active = server.engine.counters.connectionsActive;
  if (active !== options.clientCount) simulation.fail(`server: connectionsActive ${active} with ${options.clientCount} clients connected`);

  const peerOf = (connection: SimConnection): SimConnection => {
    const peerEndpoint = simulation.endpointAt(connection.remote)!;
    for (const candidate of peerEndpoint.connections.values()) {
      if (addressKey(candidate.remote) === addressKey(connection.endpoint.address)) return candidate;
    }
    return simulation.fail(`${connection.endpoint.name}: no peer connection at ${addressKey(connection.remote)}`);
  };
  const closers = [
    ...clientConnections.slice(0, Math.ceil(options.clientCount / 2)),
    ...clientConnections.slice(Math.ceil(options.clientCount / 2)).map(peerOf),
  ];
  for (const closing of closers) simulation.close(closing, "graceful", true);
  simulation.runUntil("close", () => all().every((c) => c.closed !== null), { virtualUs: 120e6 });
  for (const closing of closers) {
    const peer = peerOf(closing);
    if (closing.closed!.reason !== "graceful") simulation.fail(`${closing.endpoint.name} closed gracefully but reported "${closing.closed!.reason}"`);
    if (peer.closed!.reason !== "graceful" && !closeLostInNetwork(closing, peer)) {
      simulation.fail(`${peer.endpoint.name}: peer of ${closing.endpoint.name} reported "${peer.closed!.reason}", expected graceful`);
    }
  }
  settle(simulation, [server, ...clients]);
  return simulation;
}
