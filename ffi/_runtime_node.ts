/**
 * The Node runtime: `node:ffi` (Node 26.1 and later, experimental), taken with
 * `process.getBuiltinModule` when the library is first opened. Its first use
 * prints Node's one `ExperimentalWarning`, which this module leaves alone.
 * Node hands out a `node:net` socket's descriptor (`_handle.fd`, -1 on
 * Windows), so those are not looked up by address.
 *
 * @module
 */
import type { Runtime } from "./_bind.ts";
import type { CType, OpenedSymbols } from "./_library.ts";

type Call = (...args: unknown[]) => unknown;

/** The part of `node:ffi` used here. */
interface NodeFfi {
  dlopen(path: string, symbols: Record<string, { arguments: string[]; return: string }>): {
    functions: Record<string, Call>;
  };
}

interface NodeProcess {
  versions: { node: string };
  getBuiltinModule?(id: string): NodeFfi | undefined;
}

const NODE_TYPES: Record<CType, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "u64", // size_t: Node's FFI runs on 64-bit platforms here
  isize: "i64",
  buffer: "pointer", // a typed array is passed as a pointer to its bytes
  pointer: "pointer",
};
const WIDE = new Set<CType>(["i64", "u64", "usize", "isize"]);

let ffi: NodeFfi | undefined;

/** `node:ffi`, or an error that says what would give it. */
function nodeFfi(): NodeFfi {
  if (ffi) return ffi;
  const process = (globalThis as unknown as { process: NodeProcess }).process;
  ffi = process.getBuiltinModule?.("node:ffi");
  if (ffi) return ffi;
  const [major, minor] = process.versions.node.split(".").map(Number);
  throw new Error(
    major > 26 || (major === 26 && minor >= 1)
      ? "tcp-keepalive needs node:ffi, which this Node has turned off: run it without --no-experimental-ffi"
      : `tcp-keepalive needs node:ffi, which Node has from 26.1 on; this is Node ${process.versions.node}`,
  );
}

/** Node's FFI takes 64-bit integers only as bigints; the other runtimes, and this module's callers, pass numbers. */
function widened(call: Call, parameters: readonly CType[]): Call {
  if (!parameters.some((type) => WIDE.has(type))) return call;
  return (...args) =>
    call(...args.map((arg, i) => WIDE.has(parameters[i]) && typeof arg === "number" ? BigInt(arg) : arg));
}

/** Opens libraries with `node:ffi`. */
export const nodeRuntime: Runtime = {
  ready: () => void nodeFfi(),
  dlopen(path, symbols) {
    const definitions = Object.fromEntries(
      Object.entries(symbols).map((
        [name, { parameters, result }],
      ) => [name, { arguments: parameters.map((type) => NODE_TYPES[type]), return: NODE_TYPES[result] }]),
    );
    const { functions } = nodeFfi().dlopen(path, definitions);
    return Object.fromEntries(
      Object.entries(functions).map(([name, call]) => [name, widened(call, symbols[name].parameters)]),
    ) as OpenedSymbols;
  },
  // Node's permission model (--permission without --allow-ffi) says what to allow itself.
  permitted: () => true,
  isPermissionError: (error) => (error as { code?: string })?.code === "ERR_ACCESS_DENIED",
  descriptorOf(target) {
    const fd = (target as { _handle?: { fd?: unknown } })._handle?.fd;
    return typeof fd === "number" && fd >= 0 ? fd : undefined;
  },
};
