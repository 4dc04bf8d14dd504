// Probes for kernel features the native data path uses, so a test that needs one is skipped
// with the reason instead of passing without exercising it.
import { encodeAddress } from "../../src/native/address.ts";
import { nativeStatus } from "../../src/native/load.ts";
import { NativeSender } from "../../src/native/sender.ts";
import { openUdpSocket } from "../../src/native/udp.ts";

let gsoGroProbe: string | null | undefined;

/** null when this kernel takes UDP_SEGMENT sends and grants UDP_GRO; else why not. */
export function gsoGroMissing(): string | null {
  if (gsoGroProbe !== undefined) return gsoGroProbe;
  gsoGroProbe = probeGsoGro();
  return gsoGroProbe;
}

function probeGsoGro(): string | null {
  if (!nativeStatus().available) return `the native library is not loaded (${nativeStatus().reason})`;
  const receiver = openUdpSocket({ host: "127.0.0.1", port: 0, gro: true });
  const senderSocket = openUdpSocket({ host: "127.0.0.1", port: 0 });
  const sender = new NativeSender(senderSocket, { slots: 4, slotBytes: 200, gso: true });
  try {
    if (!receiver.gro) return "this kernel refused UDP_GRO on a UDP socket";
    const to = new Uint8Array(20);
    encodeAddress("127.0.0.1", receiver.localPort, to, 0);
    for (let i = 0; i < 2; i++) {
      sender.slot()!.fill(i, 0, 200);
      sender.commit(200, to, 0);
    }
    sender.flush();
    const counters = sender.counters();
    if (!counters.gso || counters.gsoMessages === 0) return `this kernel refused a UDP_SEGMENT (GSO) send (errno ${counters.lastErrno})`;
    return null;
  } finally {
    sender.close();
    senderSocket.close();
    receiver.close();
  }
}
