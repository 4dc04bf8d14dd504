// The message ledger: what each simulated application sent and what the peer delivered.
// Every message carries a 20-byte header (magic, flow, sequence, length, body hash) so the
// receiver can tell, from the bytes alone, which message it is and whether it is intact; the
// ledger then checks the delivery rules of the flow's mode: reliable ones exactly once (and in
// order on ordered channels), unreliable ones at most once (sequenced ones only ever newer).

import type { DeliveryMode } from "../../src/protocol/api.ts";
import { Prng } from "./prng.ts";

export const messageHeaderBytes = 20;
const magic = 0x53494d31; // "SIM1"

/** One direction of one channel between two endpoints. */
export interface Flow {
  readonly id: number;
  readonly senderName: string;
  readonly receiverName: string;
  readonly channel: number;
  readonly mode: DeliveryMode;
  /** Per sequence number: what was queued (length and hash), -1 length while not yet queued. */
  readonly lengths: number[];
  readonly hashes: number[];
  readonly deliveries: number[];
  /** Sequence numbers handed out to the application's plan so far. */
  plannedCount: number;
  queuedCount: number;
  deliveredCount: number;
  deliveredBytes: number;
  /** Highest sequence delivered so far, -1 before the first. */
  lastDeliveredSequence: number;
}

export class MessageLedger {
  readonly flows: Flow[] = [];
  private readonly runSeed: number;

  constructor(runSeed: number) {
    this.runSeed = runSeed >>> 0;
  }

  createFlow(senderName: string, receiverName: string, channel: number, mode: DeliveryMode): Flow {
    const flow: Flow = {
      id: this.flows.length,
      senderName,
      receiverName,
      channel,
      mode,
      lengths: [],
      hashes: [],
      deliveries: [],
      plannedCount: 0,
      queuedCount: 0,
      deliveredCount: 0,
      deliveredBytes: 0,
      lastDeliveredSequence: -1,
    };
    this.flows.push(flow);
    return flow;
  }

  /** Builds message `sequence` of `flow` (deterministic content), and records its hash. */
  build(flow: Flow, sequence: number, lengthBytes: number): Uint8Array {
    const length = Math.max(messageHeaderBytes, lengthBytes);
    const bytes = new Uint8Array(length);
    const body = bytes.subarray(messageHeaderBytes);
    new Prng((this.runSeed ^ Math.imul(flow.id + 1, 0x9e3779b1) ^ Math.imul(sequence + 1, 0x85ebca6b)) >>> 0).fillBytes(body);
    const hash = bodyHash(body, flow.id, sequence);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, magic);
    view.setUint32(4, flow.id);
    view.setUint32(8, sequence);
    view.setUint32(12, length);
    view.setUint32(16, hash);
    flow.lengths[sequence] = -1;
    flow.hashes[sequence] = hash;
    flow.deliveries[sequence] = 0;
    return bytes;
  }

  /** The engine accepted message `sequence` (send returned "queued"). */
  markQueued(flow: Flow, sequence: number, lengthBytes: number): void {
    if (flow.lengths[sequence] !== -1) throw new Error(`flow ${flow.id}: sequence ${sequence} queued twice or never built`);
    flow.lengths[sequence] = lengthBytes;
    flow.queuedCount++;
  }

  /** Checks one delivered message; returns a violation description, or null when it is fine.
   *  `senderName` is who the receiving connection believes its peer is. */
  deliver(receiverName: string, senderName: string, channel: number, data: Uint8Array): string | null {
    if (data.length < messageHeaderBytes) return `delivered ${data.length} bytes, shorter than any message sent`;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (view.getUint32(0) !== magic) return `delivered bytes without the message magic (corrupt or foreign)`;
    const flow = this.flows[view.getUint32(4)];
    if (flow === undefined) return `delivered a message of unknown flow ${view.getUint32(4)}`;
    const sequence = view.getUint32(8);
    const where = `flow ${flow.id} (${flow.senderName}->${flow.receiverName} ch ${flow.channel} ${flow.mode}) seq ${sequence}`;
    if (flow.receiverName !== receiverName || flow.senderName !== senderName) return `${where}: delivered to ${receiverName} from ${senderName}`;
    if (flow.channel !== channel) return `${where}: delivered on channel ${channel}`;
    const queuedLength = flow.lengths[sequence];
    if (queuedLength === undefined || queuedLength < 0) return `${where}: delivered but never queued`;
    if (data.length !== queuedLength || view.getUint32(12) !== queuedLength) return `${where}: length ${data.length}, queued ${queuedLength}`;
    if (bodyHash(data.subarray(messageHeaderBytes), flow.id, sequence) !== flow.hashes[sequence]) return `${where}: content differs from what was sent`;
    if (flow.deliveries[sequence]! > 0) return `${where}: delivered twice`;
    const orderViolation = checkOrder(flow, sequence);
    if (orderViolation !== null) return `${where}: ${orderViolation}`;
    flow.deliveries[sequence] = 1;
    flow.deliveredCount++;
    flow.deliveredBytes += data.length;
    flow.lastDeliveredSequence = Math.max(flow.lastDeliveredSequence, sequence);
    return null;
  }

  /** Reliable flows whose queued messages were not all delivered, described; empty when complete. */
  undelivered(): string[] {
    const missing: string[] = [];
    for (const flow of this.flows) {
      if (!isReliable(flow.mode) || flow.deliveredCount === flow.queuedCount) continue;
      let firstMissing = -1;
      for (let sequence = 0; sequence < flow.lengths.length; sequence++) {
        if (flow.lengths[sequence]! >= 0 && flow.deliveries[sequence] === 0) {
          firstMissing = sequence;
          break;
        }
      }
      missing.push(
        `flow ${flow.id} (${flow.senderName}->${flow.receiverName} ch ${flow.channel} ${flow.mode}): ` +
          `${flow.deliveredCount}/${flow.queuedCount} delivered, first missing seq ${firstMissing}`,
      );
    }
    return missing;
  }

  reliableComplete(): boolean {
    for (const flow of this.flows) if (isReliable(flow.mode) && flow.deliveredCount !== flow.queuedCount) return false;
    return true;
  }
}

export function isReliable(mode: DeliveryMode): boolean {
  return mode === "reliable-ordered" || mode === "reliable-unordered";
}

function checkOrder(flow: Flow, sequence: number): string | null {
  if (flow.mode === "reliable-ordered" && sequence !== flow.lastDeliveredSequence + 1) {
    return `out of order: expected seq ${flow.lastDeliveredSequence + 1}`;
  }
  if (flow.mode === "unreliable-sequenced" && sequence <= flow.lastDeliveredSequence) {
    return `older than seq ${flow.lastDeliveredSequence}, already delivered`;
  }
  return null;
}

function bodyHash(body: Uint8Array, flowId: number, sequence: number): number {
  return Bun.hash.xxHash32(body, (Math.imul(flowId, 65537) ^ sequence) >>> 0);
}
