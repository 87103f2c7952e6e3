/**
 * The Node runtime: `node:ffi` (Node 26.1 and later, experimental), taken with
 * `process.getBuiltinModule` when the library is first opened. Its first use
 * prints Node's one `ExperimentalWarning`, which this module leaves alone.
 *
 * @module
 */
import type { Runtime } from "./_bind.ts";
import type { CType, Opened } from "./_library.ts";

type Call = (...args: unknown[]) => unknown;

/** The part of `node:ffi` used here. */
interface NodeFfi {
  dlopen(path: string, symbols: Record<string, { arguments: string[]; return: string }>): {
    functions: Record<string, Call>;
  };
  getRawPointer(view: ArrayBufferView): bigint;
}

interface NodeProcess {
  versions: { node: string };
  execArgv: string[];
  env: Record<string, string | undefined>;
  getBuiltinModule?(id: string): NodeFfi | undefined;
}

/** The first Node whose `node:ffi` needs no flag; from 26.1 to 26.8 it takes `--experimental-ffi`. */
const UNFLAGGED = [26, 9] as const;

const NODE_TYPES: Record<CType, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "u64", // size_t: Node's FFI runs on 64-bit platforms here
  isize: "i64",
  buffer: "u64", // a typed array is passed as the address of its bytes (see `passed`)
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
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const atLeast = ([m, n]: readonly [number, number]) => major > m || (major === m && minor >= n);
  const off = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].includes("--no-experimental-ffi");
  throw new Error(
    !atLeast([26, 1])
      ? `tcp-keepalive needs node:ffi, which Node has from 26.1 on; this is Node ${process.versions.node}`
      : off
      ? "tcp-keepalive needs node:ffi, which --no-experimental-ffi turns off: run Node without it"
      : atLeast(UNFLAGGED)
      ? "tcp-keepalive needs node:ffi, which this Node does not offer"
      : `tcp-keepalive needs node:ffi, which Node ${process.versions.node} offers only with --experimental-ffi (from 26.9 on, without): run node --experimental-ffi, or set NODE_OPTIONS=--experimental-ffi`,
  );
}

/** Each typed array's address, taken once: `getRawPointer` moves its bytes out of the heap, where they stay. */
const addresses = new WeakMap<ArrayBufferView, bigint>();

function addressOf(view: ArrayBufferView): bigint {
  let address = addresses.get(view);
  if (address === undefined) addresses.set(view, address = nodeFfi().getRawPointer(view));
  return address;
}

/**
 * A typed array's address, for one parameter: mostly the same buffer as the last call's (the binding's own), known
 * at once. It holds that one buffer.
 */
function lastAddress(): (view: unknown) => bigint {
  let last: unknown;
  let address = 0n;
  return (view) => view === last ? address : (address = addressOf(view as ArrayBufferView), last = view, address);
}

/**
 * Passes each argument as `node:ffi` takes it fastest: 64-bit integers only as bigints (the other runtimes, and
 * this module's callers, pass numbers), and a typed array as its address, a bigint: measured, a `getsockopt` with
 * typed arrays takes 1.27x as long as with their addresses (`node:ffi` converts a typed array on every call).
 */
function passed(call: Call, parameters: readonly CType[]): Call {
  const conversions = parameters.map((type) => type === "buffer" ? lastAddress() : WIDE.has(type) ? toBigInt : same);
  if (conversions.every((conversion) => conversion === same)) return call;
  // k0 to k4: each parameter's conversion, short so that the calls below read as the C calls they are.
  const [k0 = same, k1 = same, k2 = same, k3 = same, k4 = same] = conversions;
  // A call spread from an array costs a tenth more than one with its arguments written out.
  switch (conversions.length) {
    case 1:
      return (a) => call(k0(a));
    case 2:
      return (a, b) => call(k0(a), k1(b));
    case 3:
      return (a, b, c) => call(k0(a), k1(b), k2(c));
    case 4:
      return (a, b, c, d) => call(k0(a), k1(b), k2(c), k3(d));
    case 5:
      return (a, b, c, d, e) => call(k0(a), k1(b), k2(c), k3(d), k4(e));
    default:
      return (...args) => call(...args.map((arg, i) => (conversions[i] ?? same)(arg)));
  }
}

const same = (arg: unknown) => arg;
const toBigInt = (arg: unknown) => typeof arg === "number" ? BigInt(arg) : arg;

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
      Object.entries(functions).map(([name, call]) => [name, passed(call, symbols[name]!.parameters)]),
    ) as Opened<typeof symbols>;
  },
  // Node's permission model (--permission without --allow-ffi) says what to allow itself.
  permitted: () => true,
  isPermissionError: (error) => (error as { code?: string })?.code === "ERR_ACCESS_DENIED",
};
