// Generates src/native/abi.generated.ts, the bun:ffi symbol table and the NativeStatus
// codes, from the Zig sources (zig/src/*.zig): every `export fn rudp_*` and the
// `Status` enum in zig/src/status.zig. The Zig side is the one source of truth; a test
// (test/native/abi.test.ts) fails when the generated file is out of date.
// Run: ./scripts/bun scripts/gen-native-abi.ts
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const zigSourceDir = join(root, "zig", "src");
export const generatedAbiPath = join(root, "src", "native", "abi.generated.ts");

interface ExportedFunction {
  name: string;
  file: string;
  args: string[];
  returns: string;
}

const scalarTypes: Record<string, string> = {
  void: "void",
  bool: "bool",
  u8: "u8",
  i8: "i8",
  u16: "u16",
  i16: "i16",
  u32: "u32",
  i32: "i32",
  c_int: "i32",
  c_uint: "u32",
  // *_fast: a JS number when it fits in 53 bits (offsets, lengths, counts), else a bigint.
  u64: "u64_fast",
  usize: "u64_fast",
  c_ulong: "u64_fast",
  i64: "i64_fast",
  isize: "i64_fast",
  c_long: "i64_fast",
  f32: "f32",
  f64: "f64",
  // The Status enum(c_int) itself may be returned or passed.
  Status: "i32",
  "status.Status": "i32",
};

/** Maps a Zig parameter or return type to an FFIType member name; throws on anything unknown. */
export function ffiTypeOf(zigType: string, where: string): string {
  const type = zigType.trim().replace(/\s+/g, " ");
  if (/^\??\*const fn\b/.test(type) || /^\??\*fn\b/.test(type)) return "function";
  if (/^\??(\*|\[\*\]|\[\*c\])/.test(type)) return "ptr";
  const scalar = scalarTypes[type];
  if (scalar) return scalar;
  throw new Error(`gen-native-abi: ${where}: Zig type \`${type}\` has no FFIType mapping; add it to scalarTypes`);
}

/** Splits at commas that are not inside parentheses (function-pointer parameters). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part.length > 0);
}

function stripComments(source: string): string {
  return source.replace(/\/\/[^\n]*/g, "");
}

export function parseExportedFunctions(file: string, source: string): ExportedFunction[] {
  const text = stripComments(source);
  const found: ExportedFunction[] = [];
  const header = /export\s+fn\s+(rudp_\w+)\s*\(/g;
  for (let match = header.exec(text); match; match = header.exec(text)) {
    const name = match[1]!;
    let depth = 1;
    let i = header.lastIndex;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === "(") depth++;
      else if (text[i] === ")") depth--;
    }
    const params = text.slice(header.lastIndex, i - 1);
    const bodyStart = text.indexOf("{", i);
    const returnType = text.slice(i, bodyStart).replace(/callconv\([^)]*\)/, "").trim();
    const where = `${file}: ${name}`;
    const args = splitTopLevel(params).map((param) => {
      const colon = param.indexOf(":");
      if (colon < 0) throw new Error(`gen-native-abi: ${where}: cannot read parameter \`${param}\``);
      return ffiTypeOf(param.slice(colon + 1).replace(/^noalias\s+/, ""), where);
    });
    found.push({ name, file, args, returns: ffiTypeOf(returnType, where) });
  }
  return found;
}

export function parseStatusEnum(source: string): Array<[string, number]> {
  const body = /pub const Status = enum\(c_int\)\s*\{([\s\S]*?)\};/.exec(stripComments(source));
  if (!body) throw new Error("gen-native-abi: `pub const Status = enum(c_int) { ... }` not found in zig/src/status.zig");
  const entries: Array<[string, number]> = [];
  for (const match of body[1]!.matchAll(/(\w+)\s*=\s*(-?\d+)\s*,/g)) entries.push([match[1]!, Number(match[2])]);
  return entries;
}

// What a person can do about each status. Unknown names get a generic line and a warning.
const statusAdvice: Record<string, string> = {
  ok: "success",
  invalid_argument: "invalid argument passed to the native library (a bug in the caller: check offsets, lengths and handles)",
  out_of_memory: "native memory allocation (mmap) failed: lower the pool sizes or raise the memory limit (ulimit -v, cgroup)",
  pool_exhausted: "buffer pool exhausted: every block of this size class is in use; raise blocksPerClass or free blocks sooner",
  double_free: "block freed twice: a bug in the caller's buffer ownership; the second free was ignored",
  not_supported: "not supported on this CPU, OS or build (for example a SIMD kernel the CPU lacks); the portable path is used",
  would_block: "operation would block: nothing ready yet, try again after the next readiness signal",
  socket_error: "socket system call failed: see the errno logged with it",
  address_in_use: "address already in use: another process is bound to this port; pick another port or stop that process",
  permission_denied: "permission denied by the OS (privileged port, capability or seccomp); use a port >= 1024 or grant the capability",
  thread_error: "native thread could not be started or joined: check the process thread limit (ulimit -u)",
  ring_full: "ring full: the consumer is behind; the item was dropped and counted",
  ring_empty: "ring empty: nothing to consume",
  message_too_large: "message larger than the datagram or buffer limit: split it or raise the limit",
  no_buffer_space: "kernel socket buffer full (ENOBUFS): slow down or raise net.core.wmem_max / SO_SNDBUF",
  bad_address: "bad socket address: check the host and port",
  already_running: "already running: stop it before starting again",
  not_running: "not running: start it first",
  placement_refused: "NUMA placement refused by the kernel (mbind EPERM/ENOSYS); memory is used without placement",
};

function renderStatus(entries: Array<[string, number]>): string {
  const lines = entries.map(([name, value]) => `  ${name}: ${value},`);
  const messages = entries.map(([name, value]) => {
    const advice = statusAdvice[name];
    if (!advice) console.warn(`gen-native-abi: no advice text for Status.${name}; add it to statusAdvice`);
    return `  ${JSON.stringify(String(value))}: ${JSON.stringify(advice ?? `native status ${name}`)},`;
  });
  const names = entries.map(([name, value]) => `  ${JSON.stringify(String(value))}: ${JSON.stringify(name)},`);
  return [
    "/** Codes of `Status` in zig/src/status.zig: exports return >= 0 or one of these. */",
    "export const NativeStatus = {",
    ...lines,
    "} as const;",
    "export type NativeStatusName = keyof typeof NativeStatus;",
    "",
    "const statusNames: Record<string, NativeStatusName> = {",
    ...names,
    "};",
    "",
    "const statusMessages: Record<string, string> = {",
    ...messages,
    "};",
    "",
    "/** The Status name for a code (\"unknown\" for codes the enum does not have). */",
    "export function statusName(code: number): string {",
    "  return statusNames[String(code)] ?? \"unknown\";",
    "}",
    "",
    "/** One line a person can act on, e.g. for a thrown Error or a log record. */",
    "export function describeStatus(code: number): string {",
    "  if (code > 0) return `ok (${code})`;",
    "  const message = statusMessages[String(code)];",
    "  return message ? `${statusNames[String(code)]} (${code}): ${message}` : `unknown native status ${code}`;",
    "}",
  ].join("\n");
}

function renderSymbols(functions: ExportedFunction[]): string {
  const lines = functions.map((fn) => {
    const args = fn.args.map((arg) => `FFIType.${arg}`).join(", ");
    return `  /** ${fn.file} */\n  ${fn.name}: { args: [${args}], returns: FFIType.${fn.returns} },`;
  });
  return ["/** Every `export fn rudp_*` in zig/src, for dlopen. */", "export const nativeSymbols = {", ...lines, "} as const;"].join("\n");
}

export function generateAbi(): string {
  const files = readdirSync(zigSourceDir).filter((file) => file.endsWith(".zig")).sort();
  const functions = files.flatMap((file) => parseExportedFunctions(file, readFileSync(join(zigSourceDir, file), "utf8")));
  const seen = new Set<string>();
  for (const fn of functions) {
    if (seen.has(fn.name)) throw new Error(`gen-native-abi: ${fn.name} is exported twice`);
    seen.add(fn.name);
  }
  const status = parseStatusEnum(readFileSync(join(zigSourceDir, "status.zig"), "utf8"));
  return [
    "// GENERATED by scripts/gen-native-abi.ts from zig/src/*.zig. Do not edit:",
    "// change the Zig source and run `./scripts/bun scripts/gen-native-abi.ts`.",
    'import { FFIType } from "bun:ffi";',
    "",
    renderSymbols(functions),
    "",
    renderStatus(status),
    "",
  ].join("\n");
}

if (import.meta.main) {
  const text = generateAbi();
  writeFileSync(generatedAbiPath, text);
  console.error(`gen-native-abi: wrote ${generatedAbiPath}`);
}
