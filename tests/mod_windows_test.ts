// The Windows binding for real, under Wine, whose sockets are host sockets, so
// ss shows their timer: Bun's Windows build under Debian 12's Wine 8 (which
// behaves like Windows before 1703: the legacy path), and Deno's and Bun's
// under Wine 10 in a Debian 13 chroot (like Windows 1709 and later). Prepared
// by tests/prepare.sh; Wine implements no TCP_MAXRT, so the user timeout is
// only refused here (its bytes are checked in platforms_test.ts).
import { deepEqual, equal, ok } from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ssKeepaliveTimer } from "./_ss.ts";
import { prove } from "./_evidence.ts";
import { runtime, testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PINNED = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).devDependencies;
const BUN_VERSION = PINNED.bun;
const WINE8 = `${ROOT}node_modules/.cache/tcp-keepalive-wine`;
const BUN_EXE = `${WINE8}/bun-${BUN_VERSION}/bun.exe`;
const TRIXIE = process.env.TCP_KEEPALIVE_TRIXIE ?? "/var/cache/tcp-keepalive/trixie";
const CHILD = fileURLToPath(new URL("./wine/_child.ts", import.meta.url));

/** Settings, or the error a call threw, as tests/wine/_child.ts reports them. */
type Outcome = Record<string, unknown> & { error?: { name: string; code?: string; message: string } };
interface Report {
  runtime: string;
  platform: string;
  fd: number | null;
  port: number;
  before: Outcome;
  set: Outcome;
  after: Outcome;
  count4: Outcome;
  userTimeout: Outcome;
  process: Outcome;
  info: Outcome;
}

/** Runs the child; resolves with its report while it still holds the connection. */
async function runChild(command: string[], env: Record<string, string> = {}) {
  // Wine and the runtimes print harmless complaints on stderr (XDG_RUNTIME_DIR, Bun's "directory mismatch"):
  // shown only on failure.
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => stderr += chunk);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("\n")) resolve(stdout.slice(0, stdout.indexOf("\n")));
    });
    child.once(
      "exit",
      (code) => reject(new Error(`${command.join(" ")} exited ${code} before reporting:\n${stdout}\n${stderr}`)),
    );
  });
  return { report: JSON.parse(line) as Report, exited };
}

const SET = { enabled: true, idleMs: 5000, intervalMs: 2000, count: 10 };
const NO_MAXRT = (fd: unknown) => ({
  name: "KeepaliveError",
  code: "ENOPROTOOPT",
  message: `ENOPROTOOPT: this Windows has no TCP_MAXRT (setsockopt TCP_MAXRT fd ${fd})`,
});

/** What every Windows run shares: the platform, the user timeout refused, the host's ss timer within the 5 s idle. */
function checkCommon(report: Report, fd: unknown): void {
  equal(report.platform, "win32");
  deepEqual(report.userTimeout.error, NO_MAXRT(fd));
  equal(report.process.error?.message, "setProcessKeepalive is Linux only (pidfd_getfd); this is Windows");
  // A real WSAIoctl with an output buffer: Wine answers WSAEOPNOTSUPP for SIO_TCP_INFO, as Windows before 1703 does.
  deepEqual(report.info.error, {
    name: "KeepaliveError",
    code: "EOPNOTSUPP",
    message: `EOPNOTSUPP: this Windows has no SIO_TCP_INFO (WSAIoctl SIO_TCP_INFO fd ${fd})`,
  });
  const timer = ssKeepaliveTimer(report.port);
  ok(timer && timer.remainingMs > 2000 && timer.remainingMs <= 5000, `ss timer ${JSON.stringify(timer)}`);
  console.log(`${report.runtime} under Wine: ss shows timer:(keepalive,${timer.remainingMs}ms,${timer.probes})`);
  prove("Windows x86-64", report.runtime, "Wine");
}

/** Wine 10, as Windows 1709 and later: idle, interval and count read back, the count settable. */
function checkModern(report: Report, fd: unknown): void {
  deepEqual(report.before, { enabled: false, idleMs: 7_200_000, intervalMs: 75_000, count: 9, userTimeoutMs: null });
  deepEqual(report.set, { ...SET, userTimeoutMs: null });
  deepEqual(report.after, { ...SET, userTimeoutMs: null });
  deepEqual(report.count4, { ...SET, count: 4, userTimeoutMs: null });
  checkCommon(report, fd);
}

/** Registers one Windows run, or says why it cannot run (an error in CI, where it must). */
function windowsTest(only: typeof runtime, name: string, ready: string, prepared: string, body: () => Promise<void>) {
  if (existsSync(ready)) testUnder(only, name, body, 60_000);
  else if (process.env.CI) throw new Error(`${ready} is missing: tests/prepare.sh did not prepare ${prepared}`);
  else if (runtime === only) console.warn(`skipped: ${name}: run tests/prepare.sh as root to prepare ${prepared}`);
}

windowsTest(
  "bun",
  "Windows (Bun under Wine 8, as before 1703): SIO_KEEPALIVE_VALS reaches the socket; the count is fixed at 10",
  BUN_EXE,
  "Wine 8",
  async () => {
    const { report, exited } = await runChild(["wine", BUN_EXE, CHILD], {
      WINEPREFIX: `${WINE8}/prefix`,
      WINEDEBUG: "-all",
    });
    try {
      ok(report.fd! > 0 && report.fd! % 4 === 0, `socket.fd ${report.fd} is a SOCKET handle`);
      // Wine 8 answers WSAENOPROTOOPT for TCP_KEEPIDLE/INTVL/CNT, as Windows before 1703 does.
      deepEqual(report.before, { enabled: false, idleMs: null, intervalMs: null, count: 10, userTimeoutMs: null });
      deepEqual(report.set, { ...SET, userTimeoutMs: null });
      deepEqual(report.after, { enabled: true, idleMs: null, intervalMs: null, count: 10, userTimeoutMs: null });
      deepEqual(report.count4.error, {
        name: "KeepaliveError",
        code: "ENOPROTOOPT",
        message:
          `ENOPROTOOPT: this Windows has no TCP_KEEPCNT: its value is fixed at 10 (setsockopt TCP_KEEPCNT fd ${report.fd})`,
      });
      checkCommon(report, report.fd);
    } finally {
      await exited;
    }
  },
);

const WINE10 = [`${ROOT}tests/wine/trixie.sh`, "run"];
const CHILD_IN_CHROOT = "Z:\\repo\\tests\\wine\\_child.ts";

windowsTest(
  "bun",
  "Windows (Bun under Wine 10, as 1709 and later): idle, interval and count set and read back",
  `${TRIXIE}/opt/bun-${BUN_VERSION}/bun.exe`,
  "Wine 10",
  async () => {
    const { report, exited } = await runChild([...WINE10, "bun", CHILD_IN_CHROOT]);
    try {
      ok(report.fd! > 0 && report.fd! % 4 === 0, `socket.fd ${report.fd} is a SOCKET handle`);
      checkModern(report, report.fd);
    } finally {
      await exited;
    }
  },
);

windowsTest(
  "deno",
  "Windows (Deno under Wine 10): its connection's SOCKET found by walking handle values, then set and read back",
  `${TRIXIE}/opt/deno-${PINNED.deno}/deno.exe`,
  "Wine 10",
  async () => {
    const { report, exited } = await runChild([...WINE10, "deno", "run", "-A", CHILD_IN_CHROOT]);
    try {
      const fd = /fd (\d+)\)$/.exec(report.userTimeout.error?.message ?? "")?.[1];
      ok(Number(fd) > 0 && Number(fd) % 4 === 0, `the SOCKET found, ${fd}, is a handle value`);
      checkModern(report, fd);
    } finally {
      await exited;
    }
  },
);
