/**
 * Turns a library's opened symbols into {@linkcode Syscalls}, the same way
 * under every runtime, reusing one buffer per argument.
 *
 * @module
 */
import type { CgroupSyscalls, Syscalls } from "../syscalls/mod.ts";
import type { Library, Opened, SocketCalls, SymbolTable } from "./_library.ts";

/** How a runtime opens a library. */
export interface Runtime {
  /** Throws, saying what is needed, if the runtime cannot call C at all (a Node without `node:ffi`). */
  ready(): void;
  /** Opens `path` with `symbols`; throws if it does not load, or lacks a symbol. */
  dlopen<T extends SymbolTable>(path: string, symbols: T): Opened<T>;
  /** Whether opening `path` is already allowed, without asking (Deno's permissions). */
  permitted(path: string): boolean;
  /** Whether `error` is the runtime refusing permission, which is rethrown as it is. */
  isPermissionError(error: unknown): boolean;
}

/**
 * Refuses a runtime older than the oldest this module claims, which its tests ran: said with what the newer one has.
 *
 * @param name The runtime, as users name it (`Bun`).
 * @param version Its version, such as `1.2.0`.
 * @param least The oldest claimed, such as `[1, 3, 3]`.
 * @param why What that version brought that this module needs.
 * @throws {Error} If `version` is older.
 */
export function requireVersion(name: string, version: string, least: readonly number[], why: string): void {
  const parts = version.split(".").map((part) => parseInt(part, 10) || 0);
  // The first part that differs decides: 1.2.9 is older than 1.3.3, 1.10.0 newer.
  const differs = least.findIndex((n, i) => (parts[i] ?? 0) !== n);
  if (differs >= 0 && (parts[differs] ?? 0) < least[differs]!) {
    throw new Error(`tcp-keepalive needs ${name} ${least.join(".")} or later (${why}); this is ${name} ${version}`);
  }
}

/**
 * Opens the library's socket symbols from the first of its paths that the
 * runtime allows and that loads; the walk's symbols are opened from the same
 * path on the first walk. With none allowed, the first path is opened, so
 * that the runtime asks for it or says why not, once.
 *
 * @param library The OS's library.
 * @param runtime The runtime's `dlopen`.
 * @param arch The CPU, as `Deno.build.arch` names it.
 * @returns The binding.
 * @throws {Error} What {@linkcode Runtime.ready} throws; the runtime's permission error unchanged; otherwise, if no
 *   path loads, an error whose cause is the last failure.
 */
export function openLibrary<
  S extends SymbolTable,
  W extends SymbolTable,
  P extends SymbolTable,
  C extends SymbolTable,
>(library: Library<S, W, P, C>, runtime: Runtime, arch: string): Syscalls {
  runtime.ready();
  const allowed = library.paths.filter((path) => runtime.permitted(path));
  let cause: unknown;
  for (const path of allowed.length > 0 ? allowed : library.paths.slice(0, 1)) {
    let symbols: Opened<S>;
    try {
      symbols = runtime.dlopen(path, library.symbols);
    } catch (error) {
      if (runtime.isPermissionError(error)) throw error;
      cause = error;
      continue;
    }
    let walk: Opened<W> | undefined;
    let process: Opened<P> | undefined;
    let cgroup: Opened<C> | undefined;
    return bind(
      library,
      symbols,
      {
        walk: () =>
          walk ??= openApart(
            runtime,
            path,
            library.walkSymbols,
            "list descriptors",
            "which finding a socket by its addresses needs; pass a descriptor instead",
          ),
        process: () =>
          process ??= openApart(
            runtime,
            path,
            library.process!.symbols,
            "take another process's sockets",
            "which taking them through syscall(2) needs",
          ),
        cgroup: () =>
          cgroup ??= openApart(
            runtime,
            path,
            library.cgroup!.symbols,
            "load BPF programs or read cgroups",
            "which cgroup-wide keepalive needs",
          ),
      },
      arch,
    );
  }
  throw new Error(`could not open ${library.paths.join(" or ")}`, { cause });
}

/** Opens symbols apart from the socket calls, so that a libc without them still sets options. */
function openApart<T extends SymbolTable>(
  runtime: Runtime,
  path: string,
  symbols: T,
  what: string,
  needs: string,
): Opened<T> {
  try {
    return runtime.dlopen(path, symbols);
  } catch (error) {
    if (runtime.isPermissionError(error)) throw error;
    throw new Error(`cannot ${what}: ${path} lacks one of ${Object.keys(symbols).join(", ")}, ${needs}`, {
      cause: error,
    });
  }
}

/**
 * Binds opened symbols.
 *
 * @param library The OS's library.
 * @param symbols Its socket symbols, opened (or recorded, in tests).
 * @param apart Opens the walk's symbols, on the first walk, those for another process's sockets, and cgroup BPF's.
 * @param arch The CPU, as `Deno.build.arch` names it.
 * @returns The binding.
 */
export function bind<S extends SymbolTable, W extends SymbolTable, P extends SymbolTable, C extends SymbolTable>(
  library: Library<S, W, P, C>,
  symbols: Opened<S>,
  apart: { walk(): Opened<W>; process(): Opened<P>; cgroup(): Opened<C> },
  arch: string,
): Syscalls {
  const errno = () => library.errno(symbols);
  const calls = library.sockets(symbols);
  const result = (value: number) => value < 0 ? -errno() : value;
  let cgroupCalls: CgroupSyscalls | undefined;
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
  const returned = new Uint32Array(1);
  const filled = (call: SocketCalls["getsockname"]) => (fd: number, into: Uint8Array) => {
    length[0] = into.byteLength;
    return call(fd, into, length) === 0 ? length[0]! : -errno();
  };
  return {
    getsockoptInt(fd, level, option) {
      length[0] = 4;
      return calls.getsockopt(fd, level, option, value, length) === 0 ? value[0]! : -errno();
    },
    getsockopt(fd, level, option, into) {
      length[0] = into.byteLength;
      return calls.getsockopt(fd, level, option, into, length) === 0 ? length[0]! : -errno();
    },
    setsockoptInt(fd, level, option, to) {
      value[0] = to;
      return calls.setsockopt(fd, level, option, value, 4) === 0 ? 0 : -errno();
    },
    setsockopt(fd, level, option, from) {
      return calls.setsockopt(fd, level, option, from, from.byteLength) === 0 ? 0 : -errno();
    },
    getsockname: filled(calls.getsockname),
    getpeername: filled(calls.getpeername),
    ioctl(fd, code, input, output) {
      // Only Windows has it; the platform table sends only Windows here.
      const ok = calls.ioctl!(
        fd,
        code,
        input,
        input.byteLength,
        output ?? null,
        output?.byteLength ?? 0,
        returned,
        null,
        null,
      );
      return ok === 0 ? returned[0]! : -errno();
    },
    socket(family, type) {
      // Winsock's SOCKET comes back as a 64-bit integer, a bigint under Node.
      return result(Number(calls.socket(family, type, 0)));
    },
    listing: (pid) => library.listing(apart.walk(), calls, errno, arch, pid),
    // Only Linux has them; the public calls refuse every other OS first.
    pidfdOpen: (pid, flags) => result(library.process!.pidfdOpen(apart.process(), arch, pid, flags)),
    pidfdGetfd: (pidfd, fd) => result(library.process!.pidfdGetfd(apart.process(), arch, pidfd, fd)),
    close: (fd) => result(calls.close(fd)),
    cgroup: () => cgroupCalls ??= library.cgroup!.calls(apart.cgroup(), errno, arch),
  };
}
