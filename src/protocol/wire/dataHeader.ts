// The short header of a DATA packet (docs/PROTOCOL.md §4): type(1) = 0x10, destination
// connection ID(8), the low 32 bits of the packet number(4, big-endian). Frames follow it.
import { PacketType, readU32be, writeConnectionId, writeU32be } from "./packet.ts";

const DESTINATION_OFFSET = 1;
const PACKET_NUMBER_OFFSET = DESTINATION_OFFSET + 8;

/** Writes the header at out[0..DATA_HEADER_BYTES) (wire/packet.ts); returns where the frames start. */
export function writeDataHeader(out: Uint8Array, destinationHigh: number, destinationLow: number, packetNumber: number): number {
  out[0] = PacketType.data;
  writeConnectionId(out, DESTINATION_OFFSET, destinationHigh, destinationLow);
  return writeU32be(out, PACKET_NUMBER_OFFSET, packetNumber >>> 0);
}

/** The DATA header fields of a datagram at least DATA_HEADER_BYTES long. */
export function readDataDestinationHigh(data: Uint8Array): number {
  return readU32be(data, DESTINATION_OFFSET);
}

export function readDataDestinationLow(data: Uint8Array): number {
  return readU32be(data, DESTINATION_OFFSET + 4);
}

export function readDataPacketNumberLow32(data: Uint8Array): number {
  return readU32be(data, PACKET_NUMBER_OFFSET);
}
