//! NUMA queries the pool and the TS side need: where this thread runs (getcpu) and on
//! which node a page lives (get_mempolicy with MPOL_F_NODE|MPOL_F_ADDR). The topology
//! itself (nodes, CPUs per node) is read from sysfs by src/native/numa.ts.
const std = @import("std");
const linux = std.os.linux;
const Status = @import("status.zig").Status;

pub const mpol_preferred: usize = 1;
pub const mpol_bind: usize = 2;
const mpol_f_node: usize = 1;
const mpol_f_addr: usize = 2;
/// Nodes 0..63 fit the one-word node masks used here.
pub const node_count_max = 64;

/// Linux syscalls return -errno in the high range; this gives errno or 0.
pub fn errnoOf(rc: usize) u16 {
    const signed: isize = @bitCast(rc);
    return if (signed < 0 and signed > -4096) @intCast(-signed) else 0;
}

pub const CpuAndNode = struct { cpu: u32, node: u32 };

pub fn currentCpuAndNode() ?CpuAndNode {
    var cpu: u32 = 0;
    var node: u32 = 0;
    const rc = linux.syscall3(.getcpu, @intFromPtr(&cpu), @intFromPtr(&node), 0);
    if (errnoOf(rc) != 0) return null;
    return .{ .cpu = cpu, .node = node };
}

/// The node holding the (already touched) page at `address`, or -errno.
pub fn nodeOfAddress(address: usize) i32 {
    var node: c_int = -1;
    const rc = linux.syscall5(.get_mempolicy, @intFromPtr(&node), 0, 0, address, mpol_f_node | mpol_f_addr);
    const errno = errnoOf(rc);
    if (errno != 0) return -@as(i32, errno);
    return node;
}

/// mbind(address, len, mode, {node}); returns 0 or errno.
pub fn bindRange(address: usize, len: usize, mode: usize, node: u32) u16 {
    std.debug.assert(node < node_count_max);
    const node_mask: usize = @as(usize, 1) << @intCast(node);
    // maxnode counts one past the last bit the kernel reads (it decrements it first).
    const rc = linux.syscall6(.mbind, address, len, mode, @intFromPtr(&node_mask), node_count_max + 1, 0);
    return errnoOf(rc);
}

/// Binds the page-aligned range [address, address + len) to `node` (MPOL_BIND) and moves
/// pages already touched there (MPOL_MF_MOVE): how the native driver places its receive
/// slab and send staging for --numa-node. Status.ok, invalid_argument or placement_refused.
export fn rudp_numa_bind(address: ?*anyopaque, len: usize, node: u32) c_int {
    const mpol_mf_move: usize = 1 << 1;
    if (address == null or len == 0 or node >= node_count_max) return @intFromEnum(Status.invalid_argument);
    if (@intFromPtr(address) % std.heap.pageSize() != 0) return @intFromEnum(Status.invalid_argument);
    const node_mask: usize = @as(usize, 1) << @intCast(node);
    const rc = linux.syscall6(.mbind, @intFromPtr(address), len, mpol_bind, @intFromPtr(&node_mask), node_count_max + 1, mpol_mf_move);
    return if (errnoOf(rc) == 0) @intFromEnum(Status.ok) else @intFromEnum(Status.placement_refused);
}

/// out[0] = current CPU, out[1] = its NUMA node. Status.ok or not_supported.
export fn rudp_numa_current(out: [*]u32) c_int {
    const where = currentCpuAndNode() orelse return @intFromEnum(Status.not_supported);
    out[0] = where.cpu;
    out[1] = where.node;
    return @intFromEnum(Status.ok);
}

/// Node of the touched page at `address` (>= 0), or Status.not_supported when the kernel
/// refuses get_mempolicy (no NUMA support, seccomp).
export fn rudp_numa_node_of_address(address: ?*const anyopaque) c_int {
    const node = nodeOfAddress(@intFromPtr(address));
    return if (node >= 0) node else @intFromEnum(Status.not_supported);
}

test "getcpu answers and a touched stack page reports a node" {
    const where = currentCpuAndNode() orelse return error.SkipZigTest;
    try std.testing.expect(where.node < node_count_max);
    var page: [64]u8 = undefined;
    page[0] = 1;
    const node = nodeOfAddress(@intFromPtr(&page));
    if (node < 0) return error.SkipZigTest;
    try std.testing.expect(node < node_count_max);
}
