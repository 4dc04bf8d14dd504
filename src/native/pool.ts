// NUMA-placed buffer pool in native memory (zig/src/pool.zig). Blocks are byte offsets into
// one slab; `slab` is a view over all of it, so reading or writing a block is
// `pool.slab.subarray(offset, offset + length)` or direct indexing, never a copy.
import { toArrayBuffer } from "bun:ffi";
import { NativeStatus, describeStatus } from "./abi.generated.ts";
import { native, nativeStatus } from "./load.ts";

/** Block sizes of the six size classes, in bytes. */
export const poolClassBytes = [64, 256, 1024, 4096, 16384, 65536] as const;
const counterFields = 8;
const placementFields = 7;

export interface PoolConfig {
  /** Six block counts, one per entry of poolClassBytes (0 allowed). */
  blocksPerClass: readonly number[];
  /** NUMA node to bind the slab to, or -1 (default) for the caller's node, preferred. */
  numaNode?: number;
}

export interface PoolClassCounters {
  blockBytes: number;
  capacity: number;
  inUse: number;
  free: number;
  highWater: number;
  /** Allocations refused because the class was exhausted. */
  refused: number;
  doubleFrees: number;
  invalidFrees: number;
}

export interface PoolPlacement {
  requestedNode: number;
  /** Node passed to mbind (the caller's node when requestedNode is -1); -1 if unknown. */
  targetNode: number;
  /** Node get_mempolicy reports for the first page; -1 if the kernel would not say. */
  actualNode: number;
  /** "ok", "placement_refused" (mbind EPERM/ENOSYS), ... */
  mbindStatus: string;
  mbindErrno: number;
  pagesChecked: number;
  pagesOffNode: number;
}

const statusNameByCode = new Map<number, string>(Object.entries(NativeStatus).map(([name, code]) => [code, name]));

export class NativePool {
  readonly slab: Uint8Array;
  private readonly counterBuffer = new BigUint64Array(poolClassBytes.length * counterFields);
  private readonly placementBuffer = new Int32Array(placementFields);
  private destroyed = false;

  private constructor(readonly handle: number) {
    const base = native!.rudp_pool_base(handle)!;
    const sizeBytes = Number(native!.rudp_pool_size_bytes(handle));
    this.slab = new Uint8Array(toArrayBuffer(base, 0, sizeBytes));
  }

  /** Throws when the native library is missing or the kernel/config refuses the pool. */
  static create(config: PoolConfig): NativePool {
    if (!native) throw new Error(`native pool unavailable: ${nativeStatus().reason}`);
    if (config.blocksPerClass.length !== poolClassBytes.length) {
      throw new RangeError(`blocksPerClass needs ${poolClassBytes.length} counts (${poolClassBytes.join(", ")} B)`);
    }
    const counts = Uint32Array.from(config.blocksPerClass);
    const handle = native.rudp_pool_create(counts, config.numaNode ?? -1);
    if (handle < 0) throw new Error(`native pool create failed: ${describeStatus(handle)}`);
    return new NativePool(handle);
  }

  /** Offset of a block holding sizeBytes, or a negative NativeStatus (pool_exhausted, message_too_large). */
  alloc(sizeBytes: number): number {
    return native!.rudp_pool_alloc(this.handle, sizeBytes) as number;
  }

  /** Offset of a block of class classIndex (0..5), or a negative NativeStatus. */
  allocClass(classIndex: number): number {
    return native!.rudp_pool_alloc_class(this.handle, classIndex) as number;
  }

  /** NativeStatus.ok, double_free or invalid_argument; never throws. */
  free(offset: number): number {
    return native!.rudp_pool_free(this.handle, offset);
  }

  counters(): PoolClassCounters[] {
    const written = native!.rudp_pool_counters(this.handle, this.counterBuffer, this.counterBuffer.length);
    if (written < 0) throw new Error(`pool counters: ${describeStatus(written)}`);
    const c = this.counterBuffer;
    return poolClassBytes.map((_, i) => {
      const at = i * counterFields;
      return {
        blockBytes: Number(c[at]),
        capacity: Number(c[at + 1]),
        inUse: Number(c[at + 2]),
        free: Number(c[at + 3]),
        highWater: Number(c[at + 4]),
        refused: Number(c[at + 5]),
        doubleFrees: Number(c[at + 6]),
        invalidFrees: Number(c[at + 7]),
      };
    });
  }

  placement(): PoolPlacement {
    const p = this.placementBuffer;
    const written = native!.rudp_pool_placement(this.handle, p, p.length);
    if (written < 0) throw new Error(`pool placement: ${describeStatus(written)}`);
    return {
      requestedNode: p[0]!,
      targetNode: p[1]!,
      actualNode: p[2]!,
      mbindStatus: statusNameByCode.get(p[3]!) ?? `unknown(${p[3]})`,
      mbindErrno: p[4]!,
      pagesChecked: p[5]!,
      pagesOffNode: p[6]!,
    };
  }

  /** Unmaps the slab: every view of it becomes invalid, so drop them first. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    native!.rudp_pool_destroy(this.handle);
  }
}
