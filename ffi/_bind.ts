/**
 * Turns a library's raw symbols into {@linkcode Syscalls}, the same way under
 * both runtimes, reusing one buffer per argument.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";
import type { CSymbol, Library, Memory, Raw } from "./_types.ts";

/** How a runtime opens a library. */
export interface Runtime extends Memory {
  /** Opens `path` with `symbols`; throws if it does not load. */
  dlopen(path: string, symbols: Readonly<Record<string, CSymbol>>): Raw;
}

/**
 * Opens the first of the library's paths that loads, and binds it.
 *
 * @param library The OS's library.
 * @param runtime The runtime's `dlopen`.
 * @returns The binding.
 * @throws {Error} If no path loads; the last failure is the cause.
 */
export function openLibrary(library: Library, runtime: Runtime): Syscalls {
  let cause: unknown;
  for (const path of library.paths) {
    let raw: Raw;
    try {
      raw = runtime.dlopen(path, library.symbols);
    } catch (error) {
      cause = error;
      continue;
    }
    return bind(library, raw, runtime);
  }
  throw new Error(`could not open ${library.paths.join(" or ")}`, { cause });
}

/**
 * Binds opened symbols.
 *
 * @param library The OS's library.
 * @param raw Its symbols, opened (or recorded, in tests).
 * @param memory Reads what errno pointers point at.
 * @returns The binding.
 */
export function bind(library: Library, raw: Raw, memory: Memory): Syscalls {
  const errno = () => library.errno(raw, memory);
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
  const returned = new Uint32Array(1);
  const address = (call: Raw[string]) => (fd: number, into: Uint8Array) => {
    length[0] = into.byteLength;
    return call(fd, into, length) === 0 ? length[0] : -errno();
  };
  return {
    getsockoptInt(fd, level, option) {
      length[0] = 4;
      return raw.getsockopt(fd, level, option, value, length) === 0 ? value[0] : -errno();
    },
    setsockoptInt(fd, level, option, to) {
      value[0] = to;
      return raw.setsockopt(fd, level, option, value, 4) === 0 ? 0 : -errno();
    },
    getsockname: address(raw.getsockname),
    getpeername: address(raw.getpeername),
    ioctl(fd, code, input) {
      return raw.WSAIoctl(fd, code, input, input.byteLength, null, 0, returned, null, null) === 0 ? 0 : -errno();
    },
    descriptors: () => library.descriptors(raw, errno),
  };
}
