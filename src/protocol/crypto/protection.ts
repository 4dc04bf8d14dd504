// Packet protection of one connection (docs/PROTOCOL.md §9.4-9.6): seals every DATA packet it
// sends, opens every one it receives before any frame is read, keeps the replay window and
// follows key updates. The primitives come from EngineDependencies.crypto (sans-IO).
import type { EngineCrypto } from "../api.ts";
import { DATA_HEADER_BYTES, PacketType } from "../wire/packet.ts";
import { nextPhase, type DirectionKeys, type KeyScheduleCrypto } from "./keySchedule.ts";
import { ReplayWindow } from "./replayWindow.ts";

export const AEAD_TAG_BYTES = 16;

/** How a sealed packet ends its life on arrival. */
export const OpenVerdict = { authentic: 0, decryptFailed: 1, replayed: 2 } as const;

/** What the packet builder calls to finish a DATA packet (CRC32C trailer or AEAD tag). */
export interface PacketSealer {
  /** Bytes after the frames: 4 (CRC32C) or 16 (tag). */
  readonly trailerBytes: number;
  /** Finishes out[0..bodyEnd) (header and frames) as a datagram; returns its length. */
  seal(out: Uint8Array, bodyEnd: number, packetNumber: number): number;
}

export class PacketProtection implements PacketSealer {
  readonly trailerBytes = AEAD_TAG_BYTES;
  private readonly replay = new ReplayWindow();
  private sendPacketsInPhase = 0;
  private sendPhaseFirstPn = -1;
  /** Keys of the previous receive phase, kept until the next update for reordered packets. */
  private receivePrevious: DirectionKeys | null = null;
  /** Keys of the next receive phase, derived the first time a packet shows the other bit. */
  private receiveNext: DirectionKeys | null = null;
  private receivePhaseFirstPn = 0;
  keyUpdatesSent = 0;
  keyUpdatesReceived = 0;

  constructor(
    private readonly crypto: EngineCrypto & KeyScheduleCrypto,
    readonly cipher: number,
    private send: DirectionKeys,
    private receive: DirectionKeys,
    private readonly keyUpdatePackets: number,
    /** Largest packet number the peer acknowledged (-1: none): gates the next key update. */
    private readonly largestAcked: () => number,
    private readonly onKeyUpdate: () => void,
  ) {}

  seal(out: Uint8Array, bodyEnd: number, packetNumber: number): number {
    // One update in flight at most (§9.6): the peer must have acknowledged a packet of this phase.
    if (this.sendPacketsInPhase >= this.keyUpdatePackets && this.largestAcked() >= this.sendPhaseFirstPn) this.updateSendKeys();
    if (this.sendPhaseFirstPn < 0) this.sendPhaseFirstPn = packetNumber;
    out[0] = PacketType.data | (this.send.phase & 1);
    const length = bodyEnd + AEAD_TAG_BYTES;
    this.crypto.seal(this.cipher, this.send.key, this.send.iv, out, length, DATA_HEADER_BYTES, packetNumber >>> 0);
    this.sendPacketsInPhase++;
    return length;
  }

  private updateSendKeys(): void {
    const old = this.send;
    this.send = nextPhase(this.crypto, old);
    old.secret.fill(0);
    old.key.fill(0);
    this.sendPacketsInPhase = 0;
    this.sendPhaseFirstPn = -1;
    this.keyUpdatesSent++;
    this.onKeyUpdate();
  }

  /** Opens data[0..length) in place (the caller passes a copy it owns); `packetNumber` is the
   *  decoded full number. The window is checked before and updated only after authentication,
   *  so a forged packet cannot move it. */
  open(data: Uint8Array, length: number, packetNumber: number): number {
    if (this.replay.check(packetNumber) !== "fresh") return OpenVerdict.replayed;
    const bit = data[0] & 1;
    let keys: DirectionKeys;
    let promote = false;
    if (bit === (this.receive.phase & 1)) keys = this.receive;
    else if (this.receivePrevious !== null && packetNumber < this.receivePhaseFirstPn) keys = this.receivePrevious;
    else {
      this.receiveNext ??= nextPhase(this.crypto, this.receive);
      keys = this.receiveNext;
      promote = true;
    }
    if (!this.crypto.open(this.cipher, keys.key, keys.iv, data, length, DATA_HEADER_BYTES, packetNumber >>> 0)) {
      return OpenVerdict.decryptFailed;
    }
    this.replay.accept(packetNumber);
    if (promote) {
      this.receivePrevious?.key.fill(0);
      this.receivePrevious = this.receive;
      this.receivePrevious.secret.fill(0); // its key stays for stragglers; the chain moved on
      this.receive = keys;
      this.receiveNext = null;
      this.receivePhaseFirstPn = packetNumber;
      this.keyUpdatesReceived++;
      this.onKeyUpdate();
    }
    return OpenVerdict.authentic;
  }

  get sendPhase(): number {
    return this.send.phase;
  }

  get receivePhase(): number {
    return this.receive.phase;
  }
}
