// Datagrams written by the reference ikcp.c (skywind3000/kcp): ikcp_create(0x11223344),
// ikcp_nodelay(1, 10, 2, 1), ikcp_setmtu(60), ikcp_send("hello"), ikcp_send(64 bytes),
// ikcp_update(1000). Also in docs/KCP.md.
export const ikcpVectors = {
  /** PUSH sn 0 "hello", frg 0, wnd 128, ts 1000, una 0. */
  hello: "4433221151008000e803000000000000000000000500000068656c6c6f",
  /** PUSH sn 1, frg 1: the first 36 bytes of a 64-byte message. */
  fragment1: "4433221151018000e8030000010000000000000024000000303132333435363738396162636465666768696a6b6c6d6e6f707172737475767778797a",
  /** PUSH sn 2, frg 0: its last 28 bytes. */
  fragment0: "4433221151008000e803000002000000000000001c0000004142434445464748494a4b4c4d4e4f505152535455565758595a213f",
};

export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, "hex"));
}
