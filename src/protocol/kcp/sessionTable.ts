// Sessions keyed by (source address, conv), as kcp-go's listener keys them by address and
// ikcp by conv. The transport interns addresses (one object per peer), so the lookup is by
// identity; an address object seen for the first time (the transport's address book started
// over) is matched by host and port once and then remembered as an alias.
import type { PeerAddress } from "../api.ts";

interface AddressEntry<T> {
  readonly key: string;
  readonly sessions: Map<number, T>;
  readonly aliases: PeerAddress[];
}

export class SessionTable<T> {
  private readonly byAddress = new Map<PeerAddress, AddressEntry<T>>();
  private readonly byKey = new Map<string, AddressEntry<T>>();

  get(from: PeerAddress, conv: number): T | undefined {
    return this.entry(from, false)?.sessions.get(conv);
  }

  add(from: PeerAddress, conv: number, session: T): void {
    (this.entry(from, true) as AddressEntry<T>).sessions.set(conv, session);
  }

  delete(from: PeerAddress, conv: number): void {
    const entry = this.entry(from, false);
    if (!entry) return;
    entry.sessions.delete(conv);
    if (entry.sessions.size > 0) return;
    for (const alias of entry.aliases) this.byAddress.delete(alias);
    this.byKey.delete(entry.key);
  }

  /** Addresses with at least one session. */
  get addresses(): number {
    return this.byKey.size;
  }

  private entry(from: PeerAddress, create: boolean): AddressEntry<T> | undefined {
    const known = this.byAddress.get(from);
    if (known) return known;
    const key = `${from.host}|${from.port}`;
    let entry = this.byKey.get(key);
    if (!entry) {
      if (!create) return undefined;
      entry = { key, sessions: new Map(), aliases: [] };
      this.byKey.set(key, entry);
    }
    entry.aliases.push(from);
    this.byAddress.set(from, entry);
    return entry;
  }
}

/** New sessions per source IP per second: a fixed one-second window, its table bounded. */
export class SourceRateLimiter {
  private windowStartMs = -Infinity;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly perSecondMax: number,
    private readonly sourcesMax: number,
  ) {}

  /** null when `host` may open one more session now; otherwise the limit that refused it. */
  admit(host: string, nowMs: number): null | "sessions-per-source" | "sources-tracked" {
    if (nowMs - this.windowStartMs >= 1000) {
      this.counts.clear();
      this.windowStartMs = nowMs;
    }
    const count = this.counts.get(host);
    if (count === undefined && this.counts.size >= this.sourcesMax) return "sources-tracked";
    if ((count ?? 0) >= this.perSecondMax) return "sessions-per-source";
    this.counts.set(host, (count ?? 0) + 1);
    return null;
  }
}
