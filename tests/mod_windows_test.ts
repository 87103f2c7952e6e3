// The Windows binding for real: Bun's Windows build under Wine (prepared by
// tests/prepare.sh), whose sockets are host sockets, so ss shows their timer.
import { deepEqual, equal, ok } from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ssKeepaliveTimer } from "../cli/_ss.ts";
import { testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUN_VERSION = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).devDependencies.bun;
const WINE = `${ROOT}node_modules/.cache/tcp-keepalive-wine`;
const BUN_EXE = `${WINE}/bun-${BUN_VERSION}/bun.exe`;
const NAME =
  "Windows (Bun under Wine): SIO_KEEPALIVE_VALS reaches the socket; count is fixed at 10 without TCP_KEEPCNT";

/** Settings, or the error a call threw, as tests/wine/_child.ts reports them. */
type Outcome = Record<string, unknown> & { error?: { name: string; code?: string; message: string } };
interface Report {
  platform: string;
  fd: number;
  port: number;
  before: Outcome;
  set: Outcome;
  after: Outcome;
  count4: Outcome;
  userTimeout: Outcome;
  process: Outcome;
}

/** Runs tests/wine/_child.ts in bun.exe; resolves with its report while it still holds the connection. */
async function runChild(): Promise<{ report: Report; exited: Promise<unknown> }> {
  const child = spawn("wine", [BUN_EXE, fileURLToPath(new URL("./wine/_child.ts", import.meta.url))], {
    env: { ...process.env, WINEPREFIX: `${WINE}/prefix`, WINEDEBUG: "-all" },
    // Bun under Wine reports a harmless "directory mismatch" on stderr: shown only on failure.
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
      (code) => reject(new Error(`wine bun.exe exited ${code} before reporting:\n${stdout}\n${stderr}`)),
    );
  });
  return { report: JSON.parse(line), exited };
}

async function windowsUnderWine(): Promise<void> {
  const { report, exited } = await runChild();
  try {
    equal(report.platform, "win32");
    ok(report.fd > 0 && report.fd % 4 === 0, `socket.fd ${report.fd} is a SOCKET handle`);
    // Wine answers WSAENOPROTOOPT for TCP_KEEPIDLE/INTVL/CNT, as Windows before 1703 does.
    deepEqual(report.before, { enabled: false, idleMs: null, intervalMs: null, count: 10, userTimeoutMs: null });
    deepEqual(report.set, { enabled: true, idleMs: 5000, intervalMs: 2000, count: 10, userTimeoutMs: null });
    deepEqual(report.after, { enabled: true, idleMs: null, intervalMs: null, count: 10, userTimeoutMs: null });
    deepEqual(report.count4.error, {
      name: "KeepaliveError",
      code: "ENOPROTOOPT",
      message:
        `ENOPROTOOPT: this Windows has no TCP_KEEPCNT: its value is fixed at 10 (setsockopt TCP_KEEPCNT fd ${report.fd})`,
    });
    equal(report.userTimeout.error?.name, "TypeError");
    equal(report.process.error?.message, "setProcessKeepalive is Linux only (pidfd_getfd); this is Windows");
    // Wine carries the ioctl to the host socket: its keepalive timer is due within the 5 s idle.
    const timer = ssKeepaliveTimer(report.port);
    ok(timer && timer.remainingMs > 2000 && timer.remainingMs <= 5000, `ss timer ${JSON.stringify(timer)}`);
  } finally {
    await exited;
  }
}

if (existsSync(BUN_EXE)) {
  testUnder("bun", NAME, windowsUnderWine, 60_000);
} else if (process.env.CI) {
  throw new Error(`${BUN_EXE} is missing: tests/prepare.sh did not prepare Wine`);
} else {
  console.warn(`skipped: ${NAME}: run tests/prepare.sh as root to install Wine`);
}
