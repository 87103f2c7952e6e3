// The bindings below the platform tables, with the C library replaced by a
// recording: each symbol's exact arguments, typed arrays as the bytes they hold.
import { deepEqual, equal, throws } from "node:assert/strict";
import { bind } from "../ffi/_bind.ts";
import { darwinLibSystem as darwin } from "../ffi/_library_darwin.ts";
import { freebsdLibc as freebsd } from "../ffi/_library_freebsd.ts";
import { linuxLibc as linux } from "../ffi/_library_linux.ts";
import type { Library, Opened, SocketCalls, SymbolTable } from "../ffi/_library.ts";
import { allListed } from "../syscalls/mod.ts";
import { windowsWinsock as windows } from "../ffi/_library_windows.ts";
import { test } from "./_harness.ts";

type Reply = (...args: unknown[]) => unknown;
const ERRNO_POINTER = 0xe770;

/** Symbols that record their calls and answer with `replies[name]` (0 by default). */
/** Any OS's library, its tables' types forgotten: the recording below answers every symbol the same way. */
type AnyLibrary = Library<SymbolTable, SymbolTable, SymbolTable, SymbolTable>;

function recordingLibrary(os: object, replies: Record<string, Reply> = {}, errno = 95) {
  const library = os as AnyLibrary;
  const calls: unknown[][] = [];
  const symbols: Record<string, Reply> = {};
  for (const name of Object.keys({ ...library.symbols, ...library.walkSymbols })) {
    symbols[name] = (...args: unknown[]) => {
      calls.push([
        name,
        ...args.map((arg) =>
          ArrayBuffer.isView(arg) ? [...new Uint8Array(arg.buffer, arg.byteOffset, arg.byteLength)] : arg
        ),
      ]);
      return (replies[name] ?? (() => 0))(...args);
    };
  }
  // memcpy from the errno pointer copies errno out, as libc's would.
  replies.memcpy ??= (into, from) => ((into as Int32Array)[0] = from === ERRNO_POINTER ? errno : NaN, 0);
  return {
    calls,
    sys: bind(
      library,
      symbols as Opened<SymbolTable>,
      {
        walk: () => symbols as Opened<SymbolTable>,
        process: () => symbols as Opened<SymbolTable>,
        cgroup: () => symbols as Opened<SymbolTable>,
      },
      "x86_64",
    ),
  };
}

const le32 = (n: number) => [...new Uint8Array(Int32Array.of(n).buffer)];

for (
  const [name, library, errnoCall] of [
    ["linux", linux, "__errno_location"],
    ["darwin", darwin, "__error"],
    ["freebsd", freebsd, "__error"],
  ] as const
) {
  test(`${name}: setsockopt passes the int as 4 bytes and its length`, () => {
    const { calls, sys } = recordingLibrary(library);
    equal(sys.setsockoptInt(7, 6, 0x102, 300), 0);
    deepEqual(calls, [["setsockopt", 7, 6, 0x102, le32(300), 4]]);
  });

  test(`${name}: getsockopt reads the int the library wrote; a failure reads errno through ${errnoCall}`, () => {
    const { calls, sys } = recordingLibrary(library, {
      getsockopt: (fd, _level, _option, value) => fd === 7 ? ((value as Int32Array)[0] = 75, 0) : -1,
      [errnoCall]: () => ERRNO_POINTER,
    });
    equal(sys.getsockoptInt(7, 6, 0x101), 75);
    equal(sys.getsockoptInt(8, 6, 0x101), -95);
    deepEqual(calls, [
      // The bytes as passed in: one reused buffer, still holding the last value.
      ["getsockopt", 7, 6, 0x101, le32(0), le32(4)],
      ["getsockopt", 8, 6, 0x101, le32(75), le32(4)],
      [errnoCall],
      // errno copied out of the pointer into a 4-byte cell (whose bytes before the copy do not matter).
      ["memcpy", calls[3]?.[1], ERRNO_POINTER, 4n],
    ]);
    equal((calls[3][1] as number[]).length, 4);
  });
}

test("windows: the SOCKET is pointer-sized and errors come from WSAGetLastError", () => {
  for (const symbol of ["getsockopt", "setsockopt", "getsockname", "getpeername", "WSAIoctl"] as const) {
    equal(windows.symbols[symbol].parameters[0], "u64", symbol);
  }
  const { calls, sys } = recordingLibrary(windows, { setsockopt: () => -1, WSAGetLastError: () => 10042 });
  equal(sys.setsockoptInt(0x1f4, 6, 16, 4), -10042);
  deepEqual(calls, [["setsockopt", 0x1f4, 6, 16, le32(4), 4], ["WSAGetLastError"]]);
});

test("windows: socket() comes back as a 64-bit SOCKET, INVALID_SOCKET as -1; closesocket() closes it", () => {
  for (const [reply, expected] of [[0x1f8n, 0x1f8], [-1n, -10024]] as const) {
    const { calls, sys } = recordingLibrary(windows, { socket: () => reply, WSAGetLastError: () => 10024 });
    equal(sys.socket(2, 1), expected);
    deepEqual(calls[0], ["socket", 2, 1, 0]);
  }
  const { calls, sys } = recordingLibrary(windows);
  equal(sys.close(0x1f8), 0);
  deepEqual(calls, [["closesocket", 0x1f8]]);
});

for (const [name, library] of [["linux", linux], ["darwin", darwin], ["freebsd", freebsd]] as const) {
  test(`${name}: socket() and close() on an int descriptor`, () => {
    const { calls, sys } = recordingLibrary(library, { socket: () => 9 });
    equal(sys.socket(2, 1 | 0o2000000), 9);
    equal(sys.close(9), 0);
    deepEqual(calls, [["socket", 2, 1 | 0o2000000, 0], ["close", 9]]);
  });
}

test("windows: WSAIoctl gets the 12-byte struct, its size, no output and no overlap", () => {
  const { calls, sys } = recordingLibrary(windows);
  const struct = new Uint8Array(Uint32Array.of(1, 5000, 2000).buffer);
  equal(sys.ioctl(0x1f4, 0x98000004, struct), 0);
  deepEqual(calls, [["WSAIoctl", 0x1f4, 0x98000004, [...struct], 12, null, 0, le32(0), null, null]]);
});

test("windows: the descriptor candidates are handle values, multiples of 4", () => {
  const handles = allListed(windows.listing({}, {} as SocketCalls, () => 0, "x86_64"));
  deepEqual(handles.slice(0, 3), [4, 8, 12]);
  equal(handles.every((h) => h % 4 === 0), true);
});

test("darwin: proc_pidinfo(PROC_PIDLISTFDS) lists sockets only, asking again when the buffer was full", () => {
  const entries = [[3, 1], [9, 2], [5, 2], [6, 4]]; // [fd, type]: vnode, socket, socket, pipe
  const sizes: number[] = [];
  const { sys } = recordingLibrary(darwin, {
    getpid: () => 4242,
    proc_pidinfo: (pid, flavor, arg, buffer, size) => {
      equal(pid, 4242);
      equal(flavor, 1);
      equal(arg, 0n);
      sizes.push(size as number);
      if (sizes.length === 1) return size; // full: maybe more
      const view = new DataView((buffer as Uint8Array).buffer);
      entries.forEach(([fd, type], i) => (view.setInt32(8 * i, fd, true), view.setUint32(8 * i + 4, type, true)));
      return 8 * entries.length;
    },
  });
  deepEqual(allListed(sys.listing()), [5, 9]);
  deepEqual(sizes, [512, 2048]);
});

/** A kern.proc.filedesc answer: packed kinfo_file records of [fd, type, size]. */
function fillKinfoFiles(buffer: Uint8Array, records: number[][]): number {
  const view = new DataView(buffer.buffer);
  let at = 0;
  for (const [fd, type, structSize] of records) {
    view.setInt32(at, structSize, true);
    view.setInt32(at + 4, type, true);
    view.setInt32(at + 8, fd, true);
    at += structSize;
  }
  return at;
}

test("freebsd: sysctl kern.proc.filedesc lists sockets only, growing the buffer on ENOMEM", () => {
  const sizes: bigint[] = [];
  const { calls, sys } = recordingLibrary(freebsd, {
    getpid: () => 77,
    __error: () => ERRNO_POINTER,
    sysctl: (_mib, _length, buffer, size) => {
      const length = size as BigUint64Array;
      sizes.push(length[0]);
      if (sizes.length === 1) return -1; // ENOMEM: more files than room
      length[0] = BigInt(fillKinfoFiles(buffer as Uint8Array, [[0, 1, 1392], [7, 2, 1392], [4, 2, 1200]]));
      return 0;
    },
  }, 12);
  deepEqual(allListed(sys.listing()), [4, 7]);
  deepEqual(sizes, [65_536n, 262_144n]);
  const sysctl = calls.find((call) => call[0] === "sysctl")!;
  deepEqual(sysctl.slice(1, 3), [[...new Uint8Array(Int32Array.of(1, 14, 33, 77).buffer)], 4]);
  deepEqual(sysctl.slice(5), [null, 0n]);
});

test("freebsd: another sysctl error is thrown, not retried", () => {
  const { sys } = recordingLibrary(freebsd, { getpid: () => 77, __error: () => ERRNO_POINTER, sysctl: () => -1 });
  throws(() => sys.listing(), /sysctl kern\.proc\.filedesc failed with errno 95/);
});

test("linux: descriptors are listed with syscall(SYS_getdents64), numbered per CPU, not glibc's wrapper", () => {
  equal(JSON.stringify({ ...linux.symbols, ...linux.walkSymbols }).includes("getdents64"), false);
  deepEqual(Object.keys(linux.walkSymbols), ["open", "syscall"]);
  for (const [arch, number] of [["x86_64", 217n], ["aarch64", 61n]] as const) {
    const calls: unknown[][] = [];
    const walk = {
      open: (path: ArrayBufferView | null) => (calls.push(["open", new TextDecoder().decode(path!)]), 40),
      syscall: (...args: unknown[]) => (calls.push(["syscall", ...args.slice(0, 2)]), 0n),
    };
    const sockets = { close: (fd: number) => (calls.push(["close", fd]), 0) } as SocketCalls;
    deepEqual(allListed(linux.listing(walk, sockets, () => 0, arch)), []);
    deepEqual(calls, [["open", "/proc/self/fd\0"], ["syscall", number, 40], ["close", 40]]);
  }
  const unused = {} as Opened<typeof linux.walkSymbols>;
  throws(() => linux.listing(unused, {} as SocketCalls, () => 0, "mips"), /no getdents64 number known for mips/);
});

test("linux: another process's listing keeps every descriptor, even the one equal to the listing's own", () => {
  // The directory is opened at 5 here; process 77 has descriptors 4, 5 and 6, and all three are its own.
  const names = ["4", "5", "6"];
  const walk = {
    open: () => 5,
    syscall: (_number: unknown, _fd: unknown, view: ArrayBufferView | null) => {
      const into = view as Uint8Array;
      if (names.length === 0) return 0n;
      let at = 0;
      for (const name of names.splice(0)) {
        const reclen = 24;
        new DataView(into.buffer).setUint16(at + 16, reclen, true);
        into.set([...name].map((c) => c.charCodeAt(0)).concat(0), at + 19);
        at += reclen;
      }
      return BigInt(at);
    },
  };
  const sockets = { close: () => 0 } as unknown as SocketCalls;
  deepEqual(allListed(linux.listing(walk, sockets, () => 0, "x86_64", 77)), [4, 5, 6]);
  names.push("4", "5", "6");
  deepEqual(
    allListed(linux.listing(walk, sockets, () => 0, "x86_64")),
    [4, 6],
    "its own listing leaves out its directory",
  );
});

test("linux: pidfd_open and pidfd_getfd go through syscall(2) by number, so musl and glibc before 2.36 have them", () => {
  equal(JSON.stringify(linux.process!.symbols).includes("pidfd"), false);
  deepEqual(Object.keys(linux.process!.symbols), ["syscall"]);
  for (const arch of ["x86_64", "aarch64"]) {
    const calls: unknown[][] = [];
    const process = { syscall: (...args: unknown[]) => (calls.push(args), 3n) };
    equal(linux.process!.pidfdOpen(process, arch, 4242, 0), 3);
    equal(linux.process!.pidfdGetfd(process, arch, 3, 17), 3);
    deepEqual(calls, [[434n, 4242, 0, 0], [438n, 3, 17, 0]]);
  }
});
