// A user-space impairment proxy on loopback: clients talk to the proxy, the proxy talks to the
// server, and each direction goes through its own ImpairedLink (seeded; seed and seed+1).
// UDP mode: one upstream socket per client address (a "flow") so replies find their client.
// TCP mode: a byte stream cannot lose, duplicate or corrupt bytes without breaking TCP itself,
// so only delay, jitter (order-preserving) and the rate limit apply; the other settings are
// reported as not applied.

import type { Socket, TCPSocketListener, udp } from "bun";
import { ImpairedLink, type ImpairmentConfig, type LinkCounters, monotonicNowUs } from "./impairment.ts";

export interface ProxyOptions {
  protocol: "udp" | "tcp";
  listenHost: string;
  listenPort: number;
  targetHost: string;
  targetPort: number;
  impairment: ImpairmentConfig;
  /** Client addresses (UDP) or connections (TCP) served at once; more are refused and counted. */
  maxFlows: number;
  /** Packets (or TCP chunks) held for delay per direction. */
  heapCapacity: number;
}

export interface ProxyCounters {
  protocol: "udp" | "tcp";
  flowsOpened: number;
  flowsRefused: number;
  /** Datagrams that arrived while a flow's upstream socket was still opening and did not fit. */
  pendingRefused: number;
  sendFailures: number;
  clientToServer: LinkCounters;
  serverToClient: LinkCounters;
  /** Settings that TCP mode cannot apply. */
  notApplied: string[];
}

export interface ImpairmentProxy {
  readonly port: number;
  counters(): ProxyCounters;
  close(): void;
}

export const defaultProxyOptions = { maxFlows: 20_000, heapCapacity: 200_000 };

export async function startImpairmentProxy(options: ProxyOptions): Promise<ImpairmentProxy> {
  return options.protocol === "udp" ? UdpImpairmentProxy.start(options) : TcpImpairmentProxy.start(options);
}

interface UdpFlow {
  clientHost: string;
  clientPort: number;
  upstream: udp.ConnectedSocket<"uint8array"> | null;
  pending: Uint8Array[];
}

const pendingPerFlowMax = 256;
const clientToServerTag = 0;
const serverToClientTag = 1;

class UdpImpairmentProxy implements ImpairmentProxy {
  private front!: udp.Socket<"uint8array">;
  private readonly flowsByKey = new Map<string, number>();
  private readonly flows: UdpFlow[] = [];
  private readonly clientToServer: ImpairedLink;
  private readonly serverToClient: ImpairedLink;
  private flowsRefused = 0;
  private pendingRefused = 0;
  private sendFailures = 0;

  private constructor(private readonly options: ProxyOptions) {
    const linkOptions = { packetImpairments: true, preserveOrder: false, heapCapacity: options.heapCapacity, nowUs: monotonicNowUs };
    const seed = options.impairment.seed;
    this.clientToServer = new ImpairedLink(options.impairment, seed, (data, tag) => this.deliver(data, tag), linkOptions);
    this.serverToClient = new ImpairedLink(options.impairment, seed + 1, (data, tag) => this.deliver(data, tag), linkOptions);
  }

  static async start(options: ProxyOptions): Promise<UdpImpairmentProxy> {
    const proxy = new UdpImpairmentProxy(options);
    proxy.front = await Bun.udpSocket({
      hostname: options.listenHost,
      port: options.listenPort,
      binaryType: "uint8array",
      socket: { data: (_socket, data, port, address) => proxy.fromClient(data, port, address) },
    });
    return proxy;
  }

  get port(): number {
    return this.front.port;
  }

  private fromClient(data: Uint8Array, port: number, address: string): void {
    const key = `${address}:${port}`;
    let index = this.flowsByKey.get(key);
    if (index === undefined) {
      if (this.flows.length >= this.options.maxFlows) {
        this.flowsRefused++;
        return;
      }
      index = this.openFlow(key, address, port);
    }
    this.clientToServer.push(data, index * 2 + clientToServerTag);
  }

  private openFlow(key: string, host: string, port: number): number {
    const index = this.flows.length;
    const flow: UdpFlow = { clientHost: host, clientPort: port, upstream: null, pending: [] };
    this.flows.push(flow);
    this.flowsByKey.set(key, index);
    const tag = index * 2 + serverToClientTag;
    Bun.udpSocket({
      hostname: this.options.listenHost,
      binaryType: "uint8array",
      connect: { hostname: this.options.targetHost, port: this.options.targetPort },
      socket: { data: (_socket, data) => this.serverToClient.push(data, tag) },
    }).then(
      (socket) => {
        flow.upstream = socket;
        for (const data of flow.pending) this.sendUpstream(flow, data);
        flow.pending.length = 0;
      },
      () => this.flowsRefused++,
    );
    return index;
  }

  private deliver(data: Uint8Array, tag: number): void {
    const flow = this.flows[tag >> 1];
    if (flow === undefined) return;
    if ((tag & 1) === clientToServerTag) {
      if (flow.upstream === null) {
        if (flow.pending.length >= pendingPerFlowMax) this.pendingRefused++;
        else flow.pending.push(data.slice());
        return;
      }
      this.sendUpstream(flow, data);
    } else if (!this.front.send(data, flow.clientPort, flow.clientHost)) {
      this.sendFailures++;
    }
  }

  private sendUpstream(flow: UdpFlow, data: Uint8Array): void {
    if (!flow.upstream!.send(data)) this.sendFailures++;
  }

  counters(): ProxyCounters {
    return {
      protocol: "udp",
      flowsOpened: this.flows.length,
      flowsRefused: this.flowsRefused,
      pendingRefused: this.pendingRefused,
      sendFailures: this.sendFailures,
      clientToServer: { ...this.clientToServer.counters },
      serverToClient: { ...this.serverToClient.counters },
      notApplied: [],
    };
  }

  close(): void {
    this.clientToServer.close();
    this.serverToClient.close();
    for (const flow of this.flows) flow.upstream?.close();
    this.front.close();
  }
}

/** One side of a TCP relay: bytes that could not be written yet wait here, bounded. */
interface TcpEnd {
  socket: Socket<TcpPairData> | null;
  backlog: Uint8Array[];
  backlogBytes: number;
}

interface TcpPairData {
  index: number;
  side: "client" | "server";
}

interface TcpPair {
  client: TcpEnd;
  server: TcpEnd;
  closed: boolean;
}

const tcpBacklogBytesMax = 64 << 20;

class TcpImpairmentProxy implements ImpairmentProxy {
  private listener!: TCPSocketListener<TcpPairData>;
  private readonly pairs: (TcpPair | null)[] = [];
  private readonly clientToServer: ImpairedLink;
  private readonly serverToClient: ImpairedLink;
  private flowsRefused = 0;
  private backlogOverflows = 0;
  private readonly notApplied: string[];

  private constructor(private readonly options: ProxyOptions) {
    const linkOptions = { packetImpairments: false, preserveOrder: true, heapCapacity: options.heapCapacity, nowUs: monotonicNowUs };
    const seed = options.impairment.seed;
    this.clientToServer = new ImpairedLink(options.impairment, seed, (data, tag) => this.deliver(data, tag), linkOptions);
    this.serverToClient = new ImpairedLink(options.impairment, seed + 1, (data, tag) => this.deliver(data, tag), linkOptions);
    const config = options.impairment;
    this.notApplied = [
      config.lossRate > 0 ? "loss" : "",
      config.burstLengthMean > 0 ? "burst" : "",
      config.duplicateRate > 0 ? "dup" : "",
      config.corruptRate > 0 ? "corrupt" : "",
    ].filter((name) => name !== "");
  }

  static async start(options: ProxyOptions): Promise<TcpImpairmentProxy> {
    const proxy = new TcpImpairmentProxy(options);
    proxy.listener = Bun.listen<TcpPairData>({
      hostname: options.listenHost,
      port: options.listenPort,
      socket: {
        open: (socket) => proxy.acceptClient(socket),
        data: (socket, data) => proxy.fromEnd(socket, data),
        drain: (socket) => proxy.flush(socket),
        close: (socket) => proxy.closePair(socket.data.index),
        error: (socket) => proxy.closePair(socket.data.index),
      },
    });
    return proxy;
  }

  get port(): number {
    return this.listener.port;
  }

  private acceptClient(socket: Socket<TcpPairData>): void {
    if (this.pairs.length >= this.options.maxFlows) {
      this.flowsRefused++;
      socket.end();
      return;
    }
    const index = this.pairs.length;
    socket.data = { index, side: "client" };
    socket.setNoDelay(true);
    const pair: TcpPair = {
      client: { socket, backlog: [], backlogBytes: 0 },
      server: { socket: null, backlog: [], backlogBytes: 0 },
      closed: false,
    };
    this.pairs.push(pair);
    Bun.connect<TcpPairData>({
      hostname: this.options.targetHost,
      port: this.options.targetPort,
      data: { index, side: "server" },
      socket: {
        open: (upstream) => {
          upstream.setNoDelay(true);
          pair.server.socket = upstream;
          this.flush(upstream);
        },
        data: (upstream, data) => this.fromEnd(upstream, data),
        drain: (upstream) => this.flush(upstream),
        close: () => this.closePair(index),
        error: () => this.closePair(index),
      },
    }).catch(() => this.closePair(index));
  }

  private fromEnd(socket: Socket<TcpPairData>, data: Uint8Array): void {
    const index = socket.data.index;
    if (socket.data.side === "client") this.clientToServer.push(data, index * 2 + clientToServerTag);
    else this.serverToClient.push(data, index * 2 + serverToClientTag);
  }

  private deliver(data: Uint8Array, tag: number): void {
    const pair = this.pairs[tag >> 1];
    if (pair == null || pair.closed) return;
    const end = (tag & 1) === clientToServerTag ? pair.server : pair.client;
    if (end.backlogBytes + data.length > tcpBacklogBytesMax) {
      this.backlogOverflows++;
      this.closePair(tag >> 1);
      return;
    }
    end.backlog.push(data.slice());
    end.backlogBytes += data.length;
    if (end.socket !== null) this.flush(end.socket);
  }

  private flush(socket: Socket<TcpPairData>): void {
    const pair = this.pairs[socket.data.index];
    if (pair == null) return;
    const end = socket.data.side === "client" ? pair.client : pair.server;
    while (end.backlog.length > 0) {
      const chunk = end.backlog[0];
      const written = socket.write(chunk);
      end.backlogBytes -= Math.max(0, written);
      if (written < chunk.length) {
        end.backlog[0] = chunk.subarray(Math.max(0, written));
        return;
      }
      end.backlog.shift();
    }
  }

  private closePair(index: number): void {
    const pair = this.pairs[index];
    if (pair == null || pair.closed) return;
    pair.closed = true;
    pair.client.socket?.end();
    pair.server.socket?.end();
    this.pairs[index] = null;
  }

  counters(): ProxyCounters {
    return {
      protocol: "tcp",
      flowsOpened: this.pairs.length,
      flowsRefused: this.flowsRefused,
      pendingRefused: this.backlogOverflows,
      sendFailures: 0,
      clientToServer: { ...this.clientToServer.counters },
      serverToClient: { ...this.serverToClient.counters },
      notApplied: this.notApplied,
    };
  }

  close(): void {
    this.clientToServer.close();
    this.serverToClient.close();
    for (let index = 0; index < this.pairs.length; index++) this.closePair(index);
    this.listener.stop(true);
  }
}
