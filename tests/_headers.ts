// The platform tables, and the C numbers of ffi/ and socket/, as checks against each OS's own headers: every check is
// one _Static_assert, compiled by Zig (from npm) for its target, so that a table entry the header disagrees with fails
// the build, named, with the header's own value read back by a second compile. FreeBSD has no headers here: its
// checks are held against the values Go's x/sys/unix and Rust's libc generated from its headers.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DARWIN_NUMBERS } from "../ffi/_library_darwin.ts";
import { FREEBSD_NUMBERS } from "../ffi/_library_freebsd.ts";
import { LINUX_NUMBERS } from "../ffi/_library_linux.ts";
import { SOCKADDR } from "../socket/_address.ts";
import { type BpfTable, type Platform, platformFor } from "../platforms/mod.ts";
import type { TcpState } from "../types/mod.ts";

/** One number of ours, and the C expression the header gives it by. */
export interface Check {
  /** Where ours is: a file, and the entry in it. */
  readonly entry: string;
  /** The header's spelling: a macro, an enum constant, `offsetof(...)`, `sizeof(...)`, or a comparison. */
  readonly expr: string;
  /** Our value. */
  readonly ours: number;
}

/** The checks of one translation unit: what it includes, then one assertion a line. */
interface Unit {
  readonly prelude: string;
  readonly checks: readonly Check[];
}

/** A compiler target and its units. */
export interface Target {
  /** Zig's name for it, such as `aarch64-macos`. */
  readonly zig: string;
  /** The platforms matrix's row it verifies (docs/platforms.md). */
  readonly row: string;
  readonly units: readonly Unit[];
}

/** A check the header (or Go's and Rust's tables) disagrees with; `header` is `undefined` where it has no such name. */
export interface Mismatch {
  readonly entry: string;
  readonly expr: string;
  readonly ours: number;
  readonly header: number | undefined;
}

/** A table's file, for naming its entries. */
const FILES: Record<string, string> = {
  Linux: "platforms/_linux.ts",
  macOS: "platforms/_darwin.ts",
  FreeBSD: "platforms/_freebsd.ts",
  Windows: "platforms/_windows.ts",
};

/** How each OS's headers spell the states of the tables' TCP state names. */
const STATE_NAMES: Record<string, (state: TcpState) => string> = {
  Linux: (state) =>
    ({
      "syn-received": "TCP_SYN_RECV",
      "fin-wait-1": "TCP_FIN_WAIT1",
      "fin-wait-2": "TCP_FIN_WAIT2",
      closed: "TCP_CLOSE",
    } as Record<string, string>)[state] ?? `TCP_${state.toUpperCase().replaceAll("-", "_")}`,
  Windows: (state) => `TCPSTATE_${state === "syn-received" ? "SYN_RCVD" : state.toUpperCase().replaceAll("-", "_")}`,
};

/** The checks every table makes, spelled as `os`'s headers spell them. */
function tableChecks(platform: Platform): Check[] {
  const file = FILES[platform.name];
  const check = (entry: string, expr: string, ours: number): Check => ({ entry: `${file} ${entry}`, expr, ours });
  const level = (name: string) => name.startsWith("SO_") ? "SOL_SOCKET" : "IPPROTO_TCP";
  const options = [...platform.socketOptions, platform.SO_ACCEPTCONN, platform.SO_TYPE];
  if (platform.SO_COOKIE) options.push(platform.SO_COOKIE);
  const { tcpInfo } = platform;
  const fields = [
    tcpInfo.state,
    ...Object.values(tcpInfo.fields),
    ...Object.values(tcpInfo.listening),
  ];
  const states = STATE_NAMES[platform.name];
  const errno = platform.name === "Windows" ? (name: string) => name.startsWith("WSA") ? name : `WSA${name}` : String;
  return [
    ...options.flatMap((option) => [
      check(option.name, option.name, option.optname),
      check(`${option.name}'s level`, level(option.name), option.level),
    ]),
    check("SOCK_STREAM", "SOCK_STREAM", platform.SOCK_STREAM),
    ...(platform.SOCK_CLOEXEC ? [check("SOCK_CLOEXEC", "SOCK_CLOEXEC", platform.SOCK_CLOEXEC)] : []),
    check("AF_INET", "AF_INET", platform.AF_INET),
    check("AF_INET6", "AF_INET6", platform.AF_INET6),
    check("sockaddrFamily.offset", "offsetof(struct sockaddr, sa_family)", platform.sockaddrFamily.offset),
    check("sockaddrFamily.bytes", "sizeof(((struct sockaddr *)0)->sa_family)", platform.sockaddrFamily.bytes),
    ...Object.entries(platform.errnoNames).map(([number, name]) => check(`errnoNames ${name}`, errno(name), +number)),
    ...(tcpInfo.option
      ? [
        check(`tcpInfo ${tcpInfo.option.name}`, tcpInfo.option.name, tcpInfo.option.optname),
        check(`tcpInfo ${tcpInfo.option.name}'s level`, "IPPROTO_TCP", tcpInfo.option.level),
        check(`tcpInfo.size within ${tcpInfo.struct}`, `sizeof(${tcpInfo.struct}) >= ${tcpInfo.size}`, 1),
      ]
      : [
        check(`tcpInfo ${tcpInfo.name}`, tcpInfo.name, tcpInfo.ioctl!.code),
        check(`tcpInfo.size, all of ${tcpInfo.struct}`, `sizeof(${tcpInfo.struct})`, tcpInfo.size),
        check(`tcpInfo ${tcpInfo.name}'s version, a DWORD`, "sizeof(DWORD)", tcpInfo.ioctl!.input.byteLength),
        check(
          `tcpInfo ${tcpInfo.name} lacked`,
          `WSA${platform.errnoNames[tcpInfo.ioctl!.lackedErrno]}`,
          tcpInfo.ioctl!.lackedErrno,
        ),
      ]),
    ...fields.flatMap((field) => [
      check(`tcpInfo ${field.member} offset`, `offsetof(${tcpInfo.struct}, ${field.member})`, field.offset),
      check(`tcpInfo ${field.member} bytes`, `sizeof(((${tcpInfo.struct} *)0)->${field.member})`, field.bytes),
    ]),
    ...(states
      ? Object.entries(tcpInfo.state.names).map(([number, state]) =>
        check(`tcpInfo state "${state}"`, states(state), +number)
      )
      : []),
    ...Object.entries(SOCKADDR).map(([name, ours]) => ({
      entry: `socket/_address.ts SOCKADDR ${name}`,
      expr: name.startsWith("sizeof")
        ? name
        : `offsetof(struct ${name.startsWith("sin6_") ? "sockaddr_in6" : "sockaddr_in"}, ${name})`,
      ours,
    })),
  ];
}

/** Windows' ioctl struct: where `encode` puts each of its three fields, and how long it makes it. */
function keepaliveIoctlChecks(platform: Platform): Check[] {
  const ioctl = platform.keepaliveIoctl!;
  const bytes = ioctl.encode({ enabled: 0x11, idleMs: 0x22, intervalMs: 0x33 });
  const at = (value: number) => bytes.indexOf(value);
  const file = FILES[platform.name];
  return [
    { entry: `${file} keepaliveIoctl ${ioctl.name}`, expr: ioctl.name, ours: ioctl.code },
    {
      entry: `${file} keepaliveIoctl lacked`,
      expr: `WSA${platform.errnoNames[ioctl.lackedOptionErrno]}`,
      ours: ioctl.lackedOptionErrno,
    },
    { entry: `${file} keepaliveIoctl encode: its length`, expr: "sizeof(struct tcp_keepalive)", ours: bytes.length },
    ...[["onoff", 0x11], ["keepalivetime", 0x22], ["keepaliveinterval", 0x33]].map(([member, value]) => ({
      entry: `${file} keepaliveIoctl encode: ${member}`,
      expr: `offsetof(struct tcp_keepalive, ${member})`,
      ours: at(value as number),
    })),
  ];
}

/** The cgroup BPF table, spelled as `<linux/bpf.h>` and `<linux/magic.h>` spell it. */
function bpfChecks(bpf: BpfTable): Check[] {
  const file = "platforms/_linux_bpf.ts";
  const named = (group: string, numbers: Readonly<Record<string, number>>) =>
    Object.entries(numbers).map(([name, ours]) => ({ entry: `${file} ${group}${name}`, expr: name, ours }));
  const { size: attrSize, ...attr } = bpf.attr;
  const { size: infoSize, ...info } = bpf.progInfo;
  return [
    ...named("", {
      CGROUP2_SUPER_MAGIC: bpf.CGROUP2_SUPER_MAGIC,
      BPF_F_ALLOW_OVERRIDE: bpf.BPF_F_ALLOW_OVERRIDE,
      BPF_F_ALLOW_MULTI: bpf.BPF_F_ALLOW_MULTI,
      BPF_F_REPLACE: bpf.BPF_F_REPLACE,
      BPF_F_QUERY_EFFECTIVE: bpf.BPF_F_QUERY_EFFECTIVE,
      BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: bpf.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB,
      BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: bpf.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB,
      BPF_FUNC_setsockopt: bpf.BPF_FUNC_setsockopt,
      BPF_FUNC_getsockopt: bpf.BPF_FUNC_getsockopt,
      BPF_FUNC_seq_write: bpf.BPF_FUNC_seq_write,
      BPF_FUNC_probe_read_kernel: bpf.BPF_FUNC_probe_read_kernel,
      BPF_FUNC_skc_to_tcp_sock: bpf.BPF_FUNC_skc_to_tcp_sock,
      S_IFMT: bpf.S_IFMT,
      S_IFSOCK: bpf.S_IFSOCK,
      CLONE_NEWNET: bpf.CLONE_NEWNET,
      IPPROTO_TCP: bpf.IPPROTO_TCP,
      BPF_OBJ_NAME_LEN: bpf.BPF_OBJ_NAME_LEN,
    }),
    ...Object.entries(bpf.filesystems).map(([name, [ours]]) => ({
      entry: `${file} filesystems ${name}`,
      expr: name,
      ours,
    })),
    ...named("commands ", bpf.commands),
    ...named("programTypes ", bpf.programTypes),
    ...named("attachTypes ", bpf.attachTypes),
    ...named("opcodes ", bpf.opcodes),
    ...named("capabilities ", bpf.capabilities),
    { entry: `${file} attr.size`, expr: `sizeof(union bpf_attr) >= ${attrSize}`, ours: 1 },
    ...Object.entries(attr).map(([member, ours]) => ({
      entry: `${file} attr ${member}`,
      expr: `offsetof(union bpf_attr, ${member})`,
      ours,
    })),
    { entry: `${file} progInfo.size`, expr: `sizeof(struct bpf_prog_info) >= ${infoSize}`, ours: 1 },
    ...Object.entries(info).map(([member, ours]) => ({
      entry: `${file} progInfo ${member}`,
      expr: `offsetof(struct bpf_prog_info, ${member})`,
      ours,
    })),
    ...Object.entries(bpf.context).map(([path, ours]) => ({
      entry: `${file} context ${path}`,
      expr: `offsetof(struct ${path.split(".")[0]}, ${path.split(".")[1]})`,
      ours,
    })),
  ];
}

function linuxTarget(
  platform: Platform,
  zig: string,
  row: string,
  arch: "x86_64" | "aarch64",
  libc: "glibc" | "musl",
): Target {
  const file = "ffi/_library_linux.ts LINUX_NUMBERS";
  // glibc spells the 64-bit entry dirent64; musl's dirent is that one.
  const dirent = libc === "glibc" ? "struct dirent64" : "struct dirent";
  return {
    zig,
    row,
    units: [
      {
        prelude: [
          "#define _GNU_SOURCE",
          ...[
            "sys/socket.h",
            "netinet/in.h",
            "netinet/tcp.h",
            "errno.h",
            "fcntl.h",
            "dirent.h",
            "sys/syscall.h",
            "sys/statfs.h",
            "sys/utsname.h",
            "sys/stat.h",
            "sys/file.h",
          ].map((header) => `#include <${header}>`),
          "#include <stddef.h>",
        ].join("\n"),
        checks: [
          ...tableChecks(platform),
          { entry: `${file} O_CLOEXEC`, expr: "O_CLOEXEC", ours: LINUX_NUMBERS.O_CLOEXEC },
          ...(["SYS_getdents64", "SYS_pidfd_open", "SYS_pidfd_getfd", "SYS_bpf", "SYS_fstat", "O_DIRECTORY"] as const)
            .map((name) => ({ entry: `${file} ${name}.${arch}`, expr: name, ours: LINUX_NUMBERS[name][arch] })),
          {
            entry: `${file} sizeof(struct stat).${arch}`,
            expr: "sizeof(struct stat)",
            ours: LINUX_NUMBERS["sizeof(struct stat)"][arch],
          },
          { entry: `${file} st_ino`, expr: "offsetof(struct stat, st_ino)", ours: LINUX_NUMBERS.st_ino },
          { entry: `${file} st_size`, expr: "offsetof(struct stat, st_size)", ours: LINUX_NUMBERS.st_size },
          { entry: `${file} LOCK_EX`, expr: "LOCK_EX", ours: LINUX_NUMBERS.LOCK_EX },
          ...(["d_reclen", "d_type", "d_name"] as const).map((member) => ({
            entry: `${file} ${member}`,
            expr: `offsetof(${dirent}, ${member})`,
            ours: LINUX_NUMBERS[member],
          })),
          { entry: `${file} DT_DIR`, expr: "DT_DIR", ours: LINUX_NUMBERS.DT_DIR },
          ...(["sizeof(struct statfs)", "sizeof(struct utsname)"] as const).map((name) => ({
            entry: `${file} ${name}`,
            expr: name,
            ours: LINUX_NUMBERS[name],
          })),
          { entry: `${file} f_type`, expr: "offsetof(struct statfs, f_type)", ours: LINUX_NUMBERS.f_type },
          { entry: `${file} nodename`, expr: "offsetof(struct utsname, nodename)", ours: LINUX_NUMBERS.nodename },
          { entry: `${file} release`, expr: "offsetof(struct utsname, release)", ours: LINUX_NUMBERS.release },
        ],
      },
      {
        // The kernel's own headers: they and <fcntl.h> cannot share a unit.
        prelude: [
          "linux/pidfd.h",
          "linux/bpf.h",
          "linux/magic.h",
          "linux/in.h",
          "linux/sched.h",
          "linux/capability.h",
          "linux/stat.h",
          "stddef.h",
        ].map((h) => `#include <${h}>`)
          .join("\n"),
        checks: [
          { entry: `${FILES.Linux} pidfd.PIDFD_THREAD`, expr: "PIDFD_THREAD", ours: platform.pidfd!.PIDFD_THREAD },
          ...bpfChecks(platform.bpf!),
        ],
      },
    ],
  };
}

function macosTarget(platform: Platform, zig: string, row: string): Target {
  const file = "ffi/_library_darwin.ts DARWIN_NUMBERS";
  return {
    zig,
    row,
    units: [{
      prelude: ["sys/socket.h", "netinet/in.h", "netinet/tcp.h", "errno.h", "sys/proc_info.h", "stddef.h"]
        .map((header) => `#include <${header}>`).join("\n"),
      checks: [
        ...tableChecks(platform),
        ...(["PROC_PIDLISTFDS", "PROX_FDTYPE_SOCKET", "sizeof(struct proc_fdinfo)"] as const).map((name) => ({
          entry: `${file} ${name}`,
          expr: name,
          ours: DARWIN_NUMBERS[name],
        })),
        {
          entry: `${file} proc_fdtype`,
          expr: "offsetof(struct proc_fdinfo, proc_fdtype)",
          ours: DARWIN_NUMBERS.proc_fdtype,
        },
      ],
    }],
  };
}

function windowsTarget(platform: Platform): Target {
  return {
    zig: "x86_64-windows-gnu",
    row: "Windows x86-64",
    units: [{
      // Windows 10 1709 (NTDDI_WIN10_RS3): the version whose options the table reads, and SIO_TCP_INFO's (1703).
      prelude: [
        "#define _WIN32_WINNT 0x0A00",
        "#define NTDDI_VERSION 0x0A000004",
        ...["winsock2.h", "ws2tcpip.h", "mstcpip.h", "stddef.h"].map((header) => `#include <${header}>`),
      ].join("\n"),
      checks: [...tableChecks(platform), ...keepaliveIoctlChecks(platform)],
    }],
  };
}

/**
 * Every target whose headers Zig carries, with its checks.
 *
 * @param tables Tables to check instead of the real ones (a wrong entry, to see it named).
 */
export function targets(tables: { linux?: Platform; darwin?: Platform; windows?: Platform } = {}): Target[] {
  const { linux = platformFor("linux"), darwin = platformFor("darwin"), windows = platformFor("windows") } = tables;
  return [
    linuxTarget(linux, "x86_64-linux-gnu", "Linux x86-64 glibc", "x86_64", "glibc"),
    linuxTarget(linux, "aarch64-linux-gnu", "Linux arm64 glibc", "aarch64", "glibc"),
    linuxTarget(linux, "x86_64-linux-musl", "Linux x86-64 musl", "x86_64", "musl"),
    linuxTarget(linux, "aarch64-linux-musl", "Linux arm64 musl", "aarch64", "musl"),
    macosTarget(darwin, "x86_64-macos", "macOS x86-64"),
    macosTarget(darwin, "aarch64-macos", "macOS arm64"),
    windowsTarget(windows),
  ];
}

/** A unit's C: the prelude, then each check on its own line (line `first + i` is check `i`). */
function source(unit: Unit, line: (check: Check, i: number) => string): { text: string; first: number } {
  const first = unit.prelude.split("\n").length + 1;
  return { text: `${unit.prelude}\n${unit.checks.map(line).join("\n")}\n`, first };
}

/** Compiles C for a target; the compiler's complaints, by line. */
function compile(zig: string, target: string, file: string, text: string): Map<number, string> {
  writeFileSync(file, text);
  try {
    execFileSync(zig, ["cc", "-target", target, "-c", "-o", `${file}.o`, file, "-ferror-limit=0"], { stdio: "pipe" });
    return new Map();
  } catch (error) {
    const complaints = new Map<number, string>();
    const out = String((error as { stderr?: Uint8Array }).stderr);
    for (const [, line, what] of out.matchAll(/^[^\n:]*\.c:(\d+):\d+: error: (.*)$/gm)) {
      if (!complaints.has(+line)) complaints.set(+line, what);
    }
    if (complaints.size === 0) throw new Error(`zig cc -target ${target} failed:\n${out}`);
    return complaints;
  }
}

/**
 * Compiles a target's checks; each one that fails is read back from the header by a second compile, which makes the
 * compiler print the header's value in a type (`char (*)[value + 1]`).
 *
 * @param zig The Zig binary.
 * @param target The target.
 * @param dir Where to write the C files.
 * @returns The mismatches; none when every table entry agrees with the header.
 */
export function mismatches(zig: string, target: Target, dir: string): Mismatch[] {
  return target.units.flatMap((unit, u) => {
    const base = join(dir, `${target.zig}-${u}.c`);
    const asserted = source(unit, ({ expr, ours }) => `_Static_assert((${expr}) == ${ours}, "");`);
    const failed = compile(zig, target.zig, base, asserted.text);
    const wrong = unit.checks.filter((_, i) => failed.has(asserted.first + i));
    if (wrong.length === 0) return [];
    const reveal = source(
      { prelude: unit.prelude, checks: wrong },
      ({ expr }, i) => `char (*reveal${i})[(unsigned long long)(${expr}) + 1] = 1;`,
    );
    const revealed = compile(zig, target.zig, base.replace(/\.c$/, "-reveal.c"), reveal.text);
    return wrong.map((check, i) => {
      const said = revealed.get(reveal.first + i) ?? "";
      const value = /'char \(\*\)\[(\d+)\]'/.exec(said)?.[1];
      return { ...check, header: value === undefined ? undefined : Number(value) - 1 };
    });
  });
}

/** FreeBSD's checks: its table and the numbers of ffi/_library_freebsd.ts, spelled as FreeBSD's headers spell them. */
export function freebsdChecks(platform: Platform = platformFor("freebsd")): Check[] {
  const file = "ffi/_library_freebsd.ts FREEBSD_NUMBERS";
  return [
    ...tableChecks(platform).filter(({ expr }) => /^[A-Z_0-9]+$/.test(expr)),
    ...(["CTL_KERN", "KERN_PROC", "KERN_PROC_FILEDESC", "KF_TYPE_SOCKET", "ENOMEM"] as const).map((name) => ({
      entry: `${file} ${name}`,
      expr: name,
      ours: FREEBSD_NUMBERS[name],
    })),
    ...(["kf_type", "kf_fd"] as const).map((member) => ({
      entry: `${file} ${member}`,
      expr: `offsetof(struct kinfo_file, ${member})`,
      ours: FREEBSD_NUMBERS[member],
    })),
  ];
}

/** Where Debian puts the files Go and Rust generated from FreeBSD's headers. */
export const GENERATED = {
  go: "/usr/share/gocode/src/golang.org/x/sys/unix/zerrors_freebsd_amd64.go",
  rust: [
    "/usr/share/cargo/registry/libc-0.2.139/src/unix/bsd/mod.rs",
    "/usr/share/cargo/registry/libc-0.2.139/src/unix/bsd/freebsdlike/mod.rs",
    "/usr/share/cargo/registry/libc-0.2.139/src/unix/bsd/freebsdlike/freebsd/mod.rs",
    "/usr/share/cargo/registry/libc-0.2.139/src/unix/bsd/freebsdlike/freebsd/x86_64/mod.rs",
  ],
};

/**
 * Holds FreeBSD's checks against the generated tables: a name both give must agree with ours; the offsets of
 * `struct kinfo_file` come from Rust's field list (all `c_int` up to the member).
 *
 * @returns The mismatches, and the checks neither table covers.
 */
export function freebsdMismatches(checks: readonly Check[]): { mismatches: Mismatch[]; uncovered: Check[] } {
  const values = new Map<string, number>();
  const go = readFileSync(GENERATED.go, "utf8");
  for (const [, name, value] of go.matchAll(/^\s+([A-Z][A-Z0-9_]*)\s+= (?:syscall\.Errno\()?(0x[0-9a-f]+|\d+)/gm)) {
    values.set(name, Number(value));
  }
  for (const file of GENERATED.rust) {
    const rust = readFileSync(file, "utf8");
    for (const [, name, value] of rust.matchAll(/^pub const ([A-Z][A-Z0-9_]*): [\w:]+ = (0x[0-9a-f]+|\d+);/gm)) {
      if (!values.has(name)) values.set(name, Number(value));
    }
    const struct = /pub struct kinfo_file \{([\s\S]*?)\}/.exec(rust)?.[1];
    if (struct) {
      let offset = 0;
      for (const [, member, type] of struct.matchAll(/(\w+): ([\w:]+),/g)) {
        if (type !== "::c_int") break; // only the leading ints' offsets are plain
        values.set(`offsetof(struct kinfo_file, ${member})`, offset);
        offset += 4;
      }
    }
  }
  const mismatches: Mismatch[] = [];
  const uncovered: Check[] = [];
  for (const check of checks) {
    const header = values.get(check.expr);
    if (header === undefined) uncovered.push(check);
    else if (header !== check.ours) mismatches.push({ ...check, header });
  }
  return { mismatches, uncovered };
}
