// Every load-generator message starts with this 24-byte header, little-endian:
//   0..4   sequence number on its connection (u32)
//   4..8   global connection index (u32): unique across client processes
//   8..16  intended send time in microseconds on the sender's monotonic clock (f64)
//   16..24 actual send time (f64, same clock): separates the sender's own lateness (timer
//          granularity, backpressure) from the time spent in the network and the server
// Echo servers return it unchanged, so the receiver measures latency from the INTENDED send
// time (coordinated-omission correction) and checks loss and duplication by sequence.
// Read and written byte by byte through one scratch buffer: no DataView per message.

export const messageHeaderBytes = 24;

const scratchFloat = new Float64Array(1);
const scratchBytes = new Uint8Array(scratchFloat.buffer);

export function writeMessageHeader(out: Uint8Array, sequence: number, connectionIndex: number, intendedSendUs: number, actualSendUs: number): void {
  out[0] = sequence;
  out[1] = sequence >>> 8;
  out[2] = sequence >>> 16;
  out[3] = sequence >>> 24;
  out[4] = connectionIndex;
  out[5] = connectionIndex >>> 8;
  out[6] = connectionIndex >>> 16;
  out[7] = connectionIndex >>> 24;
  scratchFloat[0] = intendedSendUs;
  for (let i = 0; i < 8; i++) out[8 + i] = scratchBytes[i];
  scratchFloat[0] = actualSendUs;
  for (let i = 0; i < 8; i++) out[16 + i] = scratchBytes[i];
}

export function readSequence(data: Uint8Array): number {
  return (data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24)) >>> 0;
}

export function readConnectionIndex(data: Uint8Array): number {
  return (data[4] | (data[5] << 8) | (data[6] << 16) | (data[7] << 24)) >>> 0;
}

export function readIntendedSendUs(data: Uint8Array): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = data[8 + i];
  return scratchFloat[0];
}

export function readActualSendUs(data: Uint8Array): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = data[16 + i];
  return scratchFloat[0];
}
