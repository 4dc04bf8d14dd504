import type { PeerAddress } from "../protocol/api.ts";

/** A peer address as the transport knows it. `compact` is the native driver's binary form,
 *  filled lazily by the driver that needs it. */
export interface TransportAddress extends PeerAddress {
  compact?: Uint8Array;
}

/**
 * Interns peer addresses so that one remote is one object: the engine compares addresses by
 * identity first, and the receive path allocates nothing for a known peer. Bounded: when
 * full it starts over (existing connections keep their objects; comparison falls back to
 * host and port), and counts the reset.
 */
export class AddressBook {
  private readonly byHost = new Map<string, Map<number, TransportAddress>>();
  private size = 0;
  resets = 0;

  constructor(private readonly capacity: number = 65_536) {}

  intern(host: string, port: number, family: 4 | 6): TransportAddress {
    let ports = this.byHost.get(host);
    const known = ports?.get(port);
    if (known) return known;
    if (this.size >= this.capacity) {
      this.byHost.clear();
      this.size = 0;
      this.resets++;
      ports = undefined;
    }
    if (!ports) {
      ports = new Map();
      this.byHost.set(host, ports);
    }
    const address: TransportAddress = { family, host, port };
    ports.set(port, address);
    this.size++;
    return address;
  }
}
