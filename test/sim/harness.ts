// The simulation driver (model: quinn-proto's test Pair, TigerBeetle's simulator): engines on a
// SimNetwork, driven through virtual time. Each step jumps the clock to the next thing that can
// happen (a datagram arriving, an engine deadline, a scheduled action), feeds it in, then polls
// every engine for events and transmits. Every loop is bounded; a violation throws SimFailure
// with the seed and the virtual time so the run can be replayed with SIM_SEED.

import type { CloseReason, Engine, EngineConfig, EngineDependencies, PeerAddress, TransmitInfo } from "../../src/protocol/api.ts";
import { crc32c } from "./checksum.ts";
import { MessageLedger, type Flow } from "./ledger.ts";
import { SimNetwork, perfectLink, type Datagram, type LinkImpairments } from "./network.ts";
import { Prng } from "./prng.ts";

export class SimFailure extends Error {
  override name = "SimFailure";
}

/** The network made the goal impossible (e.g. a burst outage longer than the idle timeout) and
 *  the engine did the right thing about it: neither a pass nor an engine failure. */
export class SimInconclusive extends Error {
  override name = "SimInconclusive";
}

/** How the simulation makes engines: the project's engine, or the small reference engine. */
export interface EngineFactory {
  name: string;
  createEngine(config: Partial<EngineConfig>, deps: EngineDependencies): Engine;
  defaultEngineConfig(role: "server" | "client"): EngineConfig;
}

async function loadProjectEngine(): Promise<EngineFactory | string> {
  try {
    // A computed specifier, so this file loads (and says why) before src/protocol exists.
    const module = (await import(new URL("../../src/protocol/index.ts", import.meta.url).href)) as Partial<EngineFactory>;
    if (typeof module.createEngine !== "function" || typeof module.defaultEngineConfig !== "function") return "src/protocol/index.ts lacks createEngine or defaultEngineConfig";
    return { name: "src/protocol", createEngine: module.createEngine, defaultEngineConfig: module.defaultEngineConfig };
  } catch (error) {
    return `src/protocol/index.ts failed to load: ${(error as Error).message}`;
  }
}

async function selectEngine(): Promise<EngineFactory | string> {
  if (process.env.SIM_ENGINE === "reference") {
    const reference = await import("./referenceEngine.ts");
    return { name: "reference", createEngine: reference.createReferenceEngine, defaultEngineConfig: reference.referenceEngineConfig };
  }
  return loadProjectEngine();
}

const selectedEngine = await selectEngine();

/** The engine under test (SIM_ENGINE=reference selects the reference engine). */
export function engineUnderTest(): EngineFactory {
  if (typeof selectedEngine === "string") throw new Error(`no engine to simulate: ${selectedEngine}`);
  return selectedEngine;
}

/** Bounds on one `runUntil`: a run that needs more is a failure, never a hang. */
export interface RunLimits {
  /** Virtual time allowed for this phase, from the current time. */
  virtualUs: number;
  steps?: number;
}

const transmitsPerPollMax = 100_000;
const eventsPerPollMax = 100_000;
const stepsPerRunDefault = 3_000_000;
/** Steps allowed at one virtual instant; a real burst (many datagrams arriving together) is
 *  served in one step, so this many means nothing is moving. */
const stepsAtSameTimeMax = 10_000;
/** Datagrams larger than this cannot be UDP payloads. */
const transmitBufferBytes = 65_536;

export interface PlannedMessage {
  flow: Flow;
  sequence: number;
  lengthBytes: number;
  bytes: Uint8Array | null;
}

export interface ClosedRecord {
  reason: CloseReason;
  closeCode: number;
  atUs: number;
  /** Network sequence of the first datagram sent after the closed event. */
  networkSequence: number;
}

/** One connection as the simulated application sees it. */
export class SimConnection {
  readonly endpoint: SimEndpoint;
  readonly handle: number;
  remote: PeerAddress;
  connectedAtUs = -1;
  closed: ClosedRecord | null = null;
  /** The application asked to close; sends after this may legitimately be refused. */
  closeRequested = false;
  /** Messages the application still has to hand to the engine, in order (sequence order per flow). */
  readonly outbox: PlannedMessage[] = [];
  outboxHead = 0;
  /** send() said buffer-full: wait for a drain event. */
  waitingForDrain = false;
  bufferFullCount = 0;
  drainEvents = 0;
  bufferedBytesMax = 0;

  constructor(endpoint: SimEndpoint, handle: number, remote: PeerAddress) {
    this.endpoint = endpoint;
    this.handle = handle;
    this.remote = remote;
  }

  get outboxEmpty(): boolean {
    return this.outboxHead >= this.outbox.length;
  }

  get peerName(): string {
    return this.endpoint.simulation.endpointAt(this.remote)?.name ?? `?${this.remote.host}:${this.remote.port}`;
  }
}

export interface EndpointOptions {
  name: string;
  role: "server" | "client";
  config?: Partial<EngineConfig>;
}

export class SimEndpoint {
  readonly simulation: Simulation;
  readonly name: string;
  readonly address: PeerAddress;
  readonly config: EngineConfig;
  readonly engine: Engine;
  /** False once the endpoint vanished: it is no longer driven and datagrams to it are lost. */
  alive = true;
  readonly connections = new Map<number, SimConnection>();
  /** Called when a connection reports "connected": the place to plan a workload. */
  onConnected: (connection: SimConnection) => void = () => {};
  corruptedDelivered = 0;
  datagramsDelivered = 0;
  /** Last virtual time an intact datagram arrived from each address (for dead-peer timing). */
  readonly lastHeardUs = new Map<string, number>();
  /** Highest network sequence among intact datagrams that arrived from each address: did
   *  anything the peer sent after some moment (say, its closed event) get through? */
  readonly latestSequenceHeard = new Map<string, number>();
  /** Datagrams this endpoint's engine transmitted, by destination. */
  readonly sentCountTo = new Map<string, number>();
  /** For each peer address: how many datagrams that peer had sent to us when we last heard it. */
  readonly peerSentCountAtLastHeard = new Map<string, number>();

  constructor(simulation: Simulation, options: EndpointOptions, address: PeerAddress, prng: Prng, factory: EngineFactory) {
    this.simulation = simulation;
    this.name = options.name;
    this.address = address;
    const cookieSecret = new Uint8Array(32);
    prng.fillBytes(cookieSecret);
    // strictInvariants: a broken engine invariant throws here, failing the seed that found it.
    this.config = { ...factory.defaultEngineConfig(options.role), cookieSecret, strictInvariants: true, ...options.config };
    const randomStream = prng.fork();
    this.engine = factory.createEngine(this.config, { crc32c, randomBytes: (out: Uint8Array) => randomStream.fillBytes(out) });
  }

  /** Only connections that are open (connected and not closed). */
  openConnections(): SimConnection[] {
    const open: SimConnection[] = [];
    for (const connection of this.connections.values()) if (connection.connectedAtUs >= 0 && connection.closed === null) open.push(connection);
    return open;
  }
}

/** Bytes a server sent to and received from one address before that address was validated. */
interface AmplificationAccount {
  receivedBytes: number;
  sentBytes: number;
  validated: boolean;
}

export class Simulation {
  readonly seed: number;
  readonly scenario: string;
  readonly prng: Prng;
  readonly network: SimNetwork;
  readonly ledger: MessageLedger;
  readonly endpoints: SimEndpoint[] = [];
  nowUs = 0;
  steps = 0;
  private stepsAtSameTime = 0;
  /** Largest sent/received ratio seen towards an unvalidated address. */
  amplificationRatioMax = 0;
  datagramsToVanished = 0;
  readonly trace: boolean;
  /** Forged datagrams with valid checksums are being injected (fuzzing): without cryptography
   *  they can legitimately change what is delivered, so ledger violations are counted, not failed.
   *  Contract violations (events after closed, limits, throwing) still fail. */
  forgeryTolerated = false;
  ledgerViolations = 0;
  /** Sees every datagram an engine transmits (before the network impairs it). */
  observeTransmit: ((from: SimEndpoint, to: PeerAddress, bytes: Uint8Array) => void) | null = null;

  private readonly byAddress = new Map<string, SimEndpoint>();
  private readonly amplification = new Map<string, AmplificationAccount>();
  private readonly scheduled: { atUs: number; order: number; action: () => void }[] = [];
  private scheduledOrder = 0;
  private readonly transmitBuffer = new Uint8Array(transmitBufferBytes);
  private readonly transmitInfo: TransmitInfo = { length: 0, to: null };
  private readonly addressPrng: Prng;

  private readonly factory: EngineFactory;

  constructor(scenario: string, seed: number, impairments: LinkImpairments = perfectLink(), factory: EngineFactory = engineUnderTest()) {
    this.factory = factory;
    this.scenario = scenario;
    this.seed = seed >>> 0;
    this.prng = new Prng(this.seed);
    this.network = new SimNetwork(this.prng.fork(), impairments);
    this.ledger = new MessageLedger(this.seed);
    this.addressPrng = this.prng.fork();
    this.trace = process.env.SIM_TRACE === "1";
  }

  addEndpoint(options: EndpointOptions): SimEndpoint {
    const index = this.endpoints.length;
    const address: PeerAddress = { family: 4, host: `10.0.${index >> 8}.${(index & 0xff) + 1}`, port: 4000 + this.addressPrng.below(60000) };
    const endpoint = new SimEndpoint(this, options, address, this.prng.fork(), this.factory);
    this.endpoints.push(endpoint);
    this.byAddress.set(addressKey(address), endpoint);
    return endpoint;
  }

  endpointAt(address: PeerAddress): SimEndpoint | undefined {
    return this.byAddress.get(addressKey(address));
  }

  /** Client connects to server now; returns the client's side of the connection. */
  connect(client: SimEndpoint, server: SimEndpoint | PeerAddress): SimConnection {
    const address = server instanceof SimEndpoint ? server.address : server;
    const handle = client.engine.connect(this.nowUs, address);
    if (client.connections.has(handle)) this.fail(`${client.name}: connect() returned handle ${handle}, already in use`);
    const connection = new SimConnection(client, handle, address);
    client.connections.set(handle, connection);
    return connection;
  }

  /** Plans `count` messages of `lengthBytes` on `flow` from `connection`. */
  plan(connection: SimConnection, flow: Flow, count: number, lengthBytes: number | (() => number)): void {
    for (let i = 0; i < count; i++) {
      const length = typeof lengthBytes === "number" ? lengthBytes : lengthBytes();
      connection.outbox.push({ flow, sequence: flow.plannedCount++, lengthBytes: length, bytes: null });
    }
  }

  /** A datagram from an address no endpoint owns (spoofing, garbage, replays). */
  inject(from: PeerAddress, to: PeerAddress, bytes: Uint8Array): void {
    this.network.send(this.nowUs, from, to, bytes);
  }

  /** The application closes its side: graceful drains first. */
  close(connection: SimConnection, reason: CloseReason, graceful: boolean, closeCode?: number): void {
    connection.closeRequested = true;
    connection.endpoint.engine.close(connection.handle, reason, graceful, closeCode);
  }

  /** Runs `action` at virtual time `atUs` (or now, if that has passed). */
  at(atUs: number, action: () => void): void {
    this.scheduled.push({ atUs, order: this.scheduledOrder++, action });
    this.scheduled.sort((a, b) => a.atUs - b.atUs || a.order - b.order);
  }

  /** The endpoint disappears without a word: no more datagrams in or out. */
  vanish(endpoint: SimEndpoint): void {
    endpoint.alive = false;
  }

  /** Drives the simulation until `done()` holds; fails on stall, time limit or step limit. */
  runUntil(label: string, done: () => boolean, limits: RunLimits): void {
    const deadlineUs = this.nowUs + limits.virtualUs;
    const stepsMax = this.steps + (limits.steps ?? stepsPerRunDefault);
    for (;;) {
      this.pollAll();
      if (done()) return;
      const nextUs = this.nextEventUs();
      if (nextUs === Infinity) this.fail(`${label}: stalled: nothing in flight, no deadline, no action, goal not reached`);
      if (nextUs > deadlineUs) this.fail(`${label}: goal not reached within ${limits.virtualUs / 1e6} s of virtual time`);
      if (++this.steps > stepsMax) this.fail(`${label}: more than ${limits.steps ?? stepsPerRunDefault} steps`);
      this.checkProgress(nextUs);
      this.advance(nextUs);
    }
  }

  /** Runs until nothing is in flight and no engine has a deadline (everything idle). */
  runUntilQuiescent(label: string, limits: RunLimits): void {
    this.runUntil(label, () => this.nextEventUs() === Infinity, limits);
  }

  /** Runs for exactly `durationUs` of virtual time (or until quiescent earlier). */
  runFor(label: string, durationUs: number, steps?: number): void {
    const endUs = this.nowUs + durationUs;
    this.runUntil(label, () => this.nextEventUs() > endUs, { virtualUs: durationUs + 1, steps });
    this.nowUs = Math.max(this.nowUs, endUs);
  }

  inconclusive(message: string): never {
    throw new SimInconclusive(`[${this.scenario}] seed=${this.seed} t=${(this.nowUs / 1e6).toFixed(6)}s: ${message}`);
  }

  fail(message: string): never {
    throw new SimFailure(
      `[${this.scenario}] seed=${this.seed} t=${(this.nowUs / 1e6).toFixed(6)}s step=${this.steps}: ${message}\n` +
        `  replay: SIM_SEED=${this.seed} ./scripts/bun test test/sim -t '${this.scenario}'`,
    );
  }

  nextEventUs(): number {
    let nextUs = this.network.nextArrivalUs();
    for (const endpoint of this.endpoints) {
      if (!endpoint.alive) continue;
      const deadline = endpoint.engine.pollTimeout();
      if (Number.isNaN(deadline)) this.fail(`${endpoint.name}: pollTimeout() returned NaN`);
      if (deadline < nextUs) nextUs = deadline;
    }
    if (this.scheduled.length > 0 && this.scheduled[0]!.atUs < nextUs) nextUs = this.scheduled[0]!.atUs;
    return nextUs;
  }

  /** Many steps without virtual time moving means an engine deadline that handleTimeout never
   *  clears (a livelock): name the engine and its deadline rather than spin to the step limit. */
  private checkProgress(nextUs: number): void {
    if (nextUs > this.nowUs) {
      this.stepsAtSameTime = 0;
      return;
    }
    if (++this.stepsAtSameTime < stepsAtSameTimeMax) return;
    const stuck = this.endpoints
      .filter((endpoint) => endpoint.alive && endpoint.engine.pollTimeout() <= this.nowUs)
      .map((endpoint) => `${endpoint.name} pollTimeout()=${endpoint.engine.pollTimeout()}`);
    this.fail(`livelock: ${stepsAtSameTimeMax} steps without virtual time advancing; deadlines not in the future: ${stuck.join(", ") || "none"}; in flight ${this.network.inFlight}`);
  }

  private advance(nextUs: number): void {
    // A deadline in the past is served now; time never goes backwards.
    if (nextUs > this.nowUs) this.nowUs = nextUs;
    const nowUs = this.nowUs;
    for (let datagram = this.network.takeDue(nowUs); datagram !== null; datagram = this.network.takeDue(nowUs)) this.deliver(datagram);
    while (this.scheduled.length > 0 && this.scheduled[0]!.atUs <= nowUs) this.scheduled.shift()!.action();
    for (const endpoint of this.endpoints) {
      if (endpoint.alive && endpoint.engine.pollTimeout() <= nowUs) endpoint.engine.handleTimeout(nowUs);
    }
  }

  private deliver(datagram: Datagram): void {
    const endpoint = this.endpointAt(datagram.to);
    if (endpoint === undefined || !endpoint.alive) {
      this.datagramsToVanished++;
      return;
    }
    if (this.trace) this.traceLine(`deliver ${this.nameOf(datagram.from)} -> ${endpoint.name} ${datagram.bytes.length}B${datagram.corrupted ? " corrupted" : ""}${datagram.duplicate ? " dup" : ""}`);
    endpoint.datagramsDelivered++;
    if (datagram.corrupted) endpoint.corruptedDelivered++;
    if (endpoint.config.role === "server") this.account(datagram.from).receivedBytes += datagram.bytes.length;
    if (!datagram.corrupted) {
      const fromKey = addressKey(datagram.from);
      endpoint.lastHeardUs.set(fromKey, this.nowUs);
      const sender = this.endpointAt(datagram.from);
      if (sender !== undefined) endpoint.peerSentCountAtLastHeard.set(fromKey, sender.sentCountTo.get(addressKey(endpoint.address)) ?? 0);
      endpoint.latestSequenceHeard.set(fromKey, Math.max(endpoint.latestSequenceHeard.get(fromKey) ?? -1, datagram.sequence));
    }
    try {
      endpoint.engine.handleDatagram(this.nowUs, datagram.bytes, datagram.from);
    } catch (error) {
      this.fail(`${endpoint.name}: handleDatagram threw on network input: ${(error as Error).stack ?? error}`);
    }
  }

  private pollAll(): void {
    for (const endpoint of this.endpoints) {
      if (!endpoint.alive) continue;
      this.pollEvents(endpoint);
      this.pumpSends(endpoint);
      this.pollEvents(endpoint);
      this.pollTransmits(endpoint);
      this.checkBounds(endpoint);
    }
  }

  private pollEvents(endpoint: SimEndpoint): void {
    for (let count = 0; ; count++) {
      if (count >= eventsPerPollMax) this.fail(`${endpoint.name}: pollEvent() did not run dry after ${eventsPerPollMax} events`);
      const event = endpoint.engine.pollEvent();
      if (event === null) return;
      if (this.trace) this.traceLine(`${endpoint.name} event ${event.type} conn ${event.connection}${event.type === "closed" ? ` ${event.reason}` : ""}`);
      switch (event.type) {
        case "connected":
          this.onConnected(endpoint, event.connection, event.remote);
          break;
        case "message": {
          const connection = this.openConnection(endpoint, event.connection, "message");
          const violation = this.ledger.deliver(endpoint.name, connection.peerName, event.channel, event.data);
          if (violation !== null && this.forgeryTolerated) this.ledgerViolations++;
          else if (violation !== null) this.fail(`${endpoint.name} conn ${event.connection}: ${violation}`);
          break;
        }
        case "drain": {
          const connection = endpoint.connections.get(event.connection);
          if (connection === undefined) this.fail(`${endpoint.name}: drain for unknown connection ${event.connection}`);
          connection.waitingForDrain = false;
          connection.drainEvents++;
          break;
        }
        case "closed": {
          const connection = endpoint.connections.get(event.connection);
          if (connection === undefined) break; // a handshake the server never reported as connected
          if (connection.closed !== null) this.fail(`${endpoint.name} conn ${event.connection}: closed twice (${connection.closed.reason}, then ${event.reason})`);
          connection.closed = { reason: event.reason, closeCode: event.closeCode, atUs: this.nowUs, networkSequence: this.network.nextSequence };
          break;
        }
      }
    }
  }

  private onConnected(endpoint: SimEndpoint, handle: number, remote: PeerAddress): void {
    let connection = endpoint.connections.get(handle);
    if (endpoint.config.role === "server") {
      if (connection !== undefined && connection.closed === null) this.fail(`${endpoint.name}: connected twice for handle ${handle}`);
      connection = new SimConnection(endpoint, handle, remote);
      endpoint.connections.set(handle, connection);
      this.account(remote).validated = true;
    } else {
      if (connection === undefined) this.fail(`${endpoint.name}: connected event for handle ${handle} it never opened`);
      if (connection.connectedAtUs >= 0) this.fail(`${endpoint.name}: connected twice for handle ${handle}`);
      if (addressKey(remote) !== addressKey(connection.remote)) this.fail(`${endpoint.name}: connected to ${addressKey(remote)}, asked for ${addressKey(connection.remote)}`);
    }
    connection.connectedAtUs = this.nowUs;
    endpoint.onConnected(connection);
  }

  private openConnection(endpoint: SimEndpoint, handle: number, what: string): SimConnection {
    const connection = endpoint.connections.get(handle);
    if (connection === undefined || connection.connectedAtUs < 0) this.fail(`${endpoint.name}: ${what} on connection ${handle} before connected`);
    if (connection.closed !== null) this.fail(`${endpoint.name}: ${what} on connection ${handle} after closed (${connection.closed.reason})`);
    return connection;
  }

  private pumpSends(endpoint: SimEndpoint): void {
    for (const connection of endpoint.connections.values()) {
      if (connection.connectedAtUs < 0 || connection.closed !== null || connection.waitingForDrain) continue;
      while (!connection.outboxEmpty) {
        const planned = connection.outbox[connection.outboxHead]!;
        planned.bytes ??= this.ledger.build(planned.flow, planned.sequence, planned.lengthBytes);
        const result = endpoint.engine.send(connection.handle, planned.flow.channel, planned.bytes);
        if (result === "queued") {
          this.ledger.markQueued(planned.flow, planned.sequence, planned.bytes.length);
          planned.bytes = null;
          connection.outbox[connection.outboxHead++] = undefined as unknown as PlannedMessage; // let it be collected
          continue;
        }
        if (result === "buffer-full") {
          connection.waitingForDrain = true;
          connection.bufferFullCount++;
          break;
        }
        if (result === "closed" && connection.closeRequested) break;
        this.fail(`${endpoint.name} conn ${connection.handle}: send of ${planned.bytes.length} B on channel ${planned.flow.channel} returned "${result}"`);
      }
    }
  }

  private pollTransmits(endpoint: SimEndpoint): void {
    const buffer = this.transmitBuffer;
    const info = this.transmitInfo;
    for (let count = 0; ; count++) {
      if (count >= transmitsPerPollMax) this.fail(`${endpoint.name}: pollTransmit() did not run dry after ${transmitsPerPollMax} datagrams`);
      info.length = 0;
      info.to = null;
      if (!endpoint.engine.pollTransmit(this.nowUs, buffer, info)) return;
      const to = info.to as PeerAddress | null;
      if (to === null) this.fail(`${endpoint.name}: pollTransmit returned a datagram without a destination`);
      if (info.length <= 0 || info.length > endpoint.config.mtuBytes) this.fail(`${endpoint.name}: datagram of ${info.length} B, mtuBytes is ${endpoint.config.mtuBytes}`);
      if (endpoint.config.role === "server") this.accountSent(endpoint, to, info.length);
      const toKey = addressKey(to);
      endpoint.sentCountTo.set(toKey, (endpoint.sentCountTo.get(toKey) ?? 0) + 1);
      if (this.observeTransmit !== null) this.observeTransmit(endpoint, to, buffer.subarray(0, info.length));
      const inFlightBefore = this.network.inFlight;
      this.network.send(this.nowUs, endpoint.address, to, buffer.subarray(0, info.length));
      if (this.trace) {
        const fate = this.network.inFlight > inFlightBefore ? "" : " (lost in the network)";
        this.traceLine(`${endpoint.name} send -> ${this.nameOf(to)} ${info.length}B${fate}`);
      }
    }
  }

  private checkBounds(endpoint: SimEndpoint): void {
    const limit = endpoint.config.sendBufferBytesPerConnection;
    for (const connection of endpoint.connections.values()) {
      if (connection.connectedAtUs < 0 || connection.closed !== null) continue;
      const buffered = endpoint.engine.bufferedBytes(connection.handle);
      if (buffered > connection.bufferedBytesMax) connection.bufferedBytesMax = buffered;
      if (buffered > limit) this.fail(`${endpoint.name} conn ${connection.handle}: bufferedBytes ${buffered} > sendBufferBytesPerConnection ${limit}`);
    }
    const active = endpoint.engine.counters.connectionsActive;
    if (active > endpoint.config.maxConnections) this.fail(`${endpoint.name}: connectionsActive ${active} > maxConnections ${endpoint.config.maxConnections}`);
  }

  private accountSent(server: SimEndpoint, to: PeerAddress, lengthBytes: number): void {
    const account = this.account(to);
    if (account.validated) return;
    account.sentBytes += lengthBytes;
    const ratio = account.receivedBytes === 0 ? Infinity : account.sentBytes / account.receivedBytes;
    if (ratio > this.amplificationRatioMax) this.amplificationRatioMax = ratio;
    if (account.sentBytes > 3 * account.receivedBytes) {
      this.fail(`${server.name}: amplification: sent ${account.sentBytes} B to unvalidated ${addressKey(to)} after receiving ${account.receivedBytes} B from it (> 3x)`);
    }
  }

  private account(address: PeerAddress): AmplificationAccount {
    const key = addressKey(address);
    let account = this.amplification.get(key);
    if (account === undefined) {
      account = { receivedBytes: 0, sentBytes: 0, validated: false };
      this.amplification.set(key, account);
    }
    return account;
  }

  private nameOf(address: PeerAddress): string {
    return this.endpointAt(address)?.name ?? addressKey(address);
  }

  private traceLine(line: string): void {
    console.log(`${(this.nowUs / 1e6).toFixed(6)} ${line}`);
  }
}

export function addressKey(address: PeerAddress): string {
  return `${address.host}:${address.port}`;
}
