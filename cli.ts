/**
 * The keepalive command line, on the public API, with the options layer's
 * checks worded in the flags' terms: `plan`, `check`, `watch`, `demo` and `apply`. Run it as `deno task keepalive ...` or `bun cli.ts ...`.
 *
 * @example Run it
 * ```sh
 * deno task keepalive plan 30s
 * bun cli.ts check db.internal:5432 --timeout 30s
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type KeepaliveOptions, VERSION } from "./mod.ts";
import { checkCgroupSettings, checkPath, checkPid, type Field, planWrites, type Terms } from "./options/mod.ts";
import { os } from "./ffi/mod.ts";
import { platformFor } from "./platforms/mod.ts";
import { apply, applyToCgroup } from "./cli/_apply.ts";
import { check } from "./cli/_check.ts";
import { detach } from "./cli/_detach.ts";
import { inspectPath, inspectPid } from "./cli/_inspect.ts";
import { cut, demo } from "./cli/_demo.ts";
import {
  asUsage,
  flagTerms,
  parseCount,
  parseDurationFlag,
  parseHostPort,
  printJson,
  UsageError,
} from "./cli/_format.ts";
import { plan } from "./cli/_plan.ts";
import { watch } from "./cli/_watch.ts";

const SETTING_FLAGS = `  --idle DURATION          idle time before the first probe (TCP_KEEPIDLE)
  --interval DURATION      time between probes (TCP_KEEPINTVL)
  --count N                probes before the connection is dropped (TCP_KEEPCNT)
  --user-timeout DURATION  how long sent data may stay unacknowledged (TCP_USER_TIMEOUT)
  --timeout DURATION       one dead-peer deadline, planned into all of the above
  --tls                    speak TLS, verifying the server's certificate`;

const HELP: Record<string, string> = {
  "": `usage: keepalive <command> [options]

commands:
  plan <deadline>     the settings a dead-peer deadline gives Linux, macOS, FreeBSD and Windows
  check <host:port>   connect, apply, read back from the kernel, compare with the defaults
  watch <host:port>   hold a connection idle and show the keepalive timer until it dies or Ctrl-C
  demo                a loopback connection configured and read back; as root, a cut peer found
  apply --pid PID     every TCP socket of another running process (Linux), configured and read back
  apply --cgroup PATH every connection of a cgroup, in any language, set by the kernel (Linux 5.9)
  detach --cgroup PATH  this module's programs taken off a cgroup
  inspect --pid PID | --cgroup PATH   read-only: every TCP socket, its keepalive, its peer last heard

Durations take a unit: 1500ms, 10s, 2m, 1h. Every command takes --json and --help;
--version prints the version.

examples:
  keepalive plan 30s
  keepalive check db.internal:5432 --timeout 30s
  keepalive watch [::1]:6379 --idle 10s --interval 2s --count 3 --for 5m
  keepalive demo --json
  keepalive apply --pid 4242 --timeout 30s
  keepalive apply --cgroup /sys/fs/cgroup/system.slice/api.service --timeout 30s --enforce
  keepalive inspect --cgroup /sys/fs/cgroup/system.slice/api.service`,
  plan: `usage: keepalive plan <deadline> [--count N] [--json]

The settings planKeepalive derives from one dead-peer deadline on each OS, and
how soon a dead peer is noticed, idle and with unacknowledged data.

  --count N   probes to plan with (default 10, the count Windows fixes)

example:
  keepalive plan 2m --count 5`,
  check: `usage: keepalive check <host:port> [options] [--json]

Connects (and shakes hands, with --tls) within 10 s, applies the options, reads
them back from the kernel, and prints what was requested, what the kernel holds
and the system's defaults. Exits 1 if the kernel does not hold what was applied;
a field the OS cannot read back (Windows before 1709) is said to be so.

${SETTING_FLAGS}

examples:
  keepalive check example.com:443 --tls --timeout 30s
  keepalive check 10.0.0.5:5432 --idle 10s --interval 2s --count 3 --user-timeout 16s`,
  watch: `usage: keepalive watch <host:port> [options] [--for DURATION] [--json]

Holds the connection idle and shows, every second, when the next probe is due
(the kernel's timer, through ss), until the connection dies, --for ends or
Ctrl-C; then says how long it lived and why it ended: ETIMEDOUT (a dead peer
found by keepalive), ECONNRESET (reset by the peer or a middlebox), EOF (closed
by the peer). After Ctrl-C it exits 130.

${SETTING_FLAGS}
  --for DURATION           watch at most this long (default 10m)

example:
  keepalive watch redis.internal:6379 --idle 5s --interval 1s --count 3 --for 1m`,
  apply: `usage: keepalive apply --pid PID | --cgroup PATH [options] [--enforce] [--owner NAME] [--root] [--json]

--pid: sets keepalive on every TCP socket (IPv4 and IPv6) of another running
process, in any language, and prints each socket's addresses with what it held
before and holds after. Linux 5.6 and later (pidfd_getfd), with the rights of
ptrace over the process: the same user (and kernel.yama.ptrace_scope 0), or root.

--cgroup: attaches a BPF program to the cgroup v2 directory PATH, in place of
this module's earlier one there, which sets every TCP connection made in PATH
or below from now on, in any language, as it is established; and sets the
sockets its processes already hold, as --pid does. Policies nest: a
connection gets the policy of the nearest cgroup with one, so a cgroup below
with its own keeps it. The program stays attached after this command exits,
until keepalive detach --cgroup PATH. Linux 5.9 and later, with CAP_BPF and
CAP_NET_ADMIN (or CAP_SYS_ADMIN), CAP_SYS_ADMIN to find the earlier program,
and CAP_SYS_PTRACE for the sockets already open; root has them all.

  --pid PID                the process
  --cgroup PATH            the cgroup v2 directory
  --enforce                with --cgroup: the applications' own setsockopt of
                           these options on TCP sockets succeeds and changes
                           nothing (a 32-bit process's is not seen: inspect
                           shows it as drift)
  --owner NAME             with --cgroup: whose programs these are, for detach
                           (default: this host's name, a pod's in Kubernetes)
  --root                   with --cgroup: PATH is the hierarchy's root, every
                           process of the host, and that is meant
${SETTING_FLAGS.split("\n").slice(0, -1).join("\n")}

examples:
  keepalive apply --pid 4242 --idle 10s --interval 2s --count 3
  keepalive apply --cgroup /sys/fs/cgroup/kubepods.slice --timeout 30s --enforce`,
  detach: `usage: keepalive detach --cgroup PATH [--owner NAME | --all] [--json]

Takes this module's programs of one owner off the cgroup v2 directory PATH:
connections made there from now on get the policy of the nearest cgroup above
with one, or the system's defaults; those that exist keep what they hold, and
other programs stay, another owner's too.

  --owner NAME   whose programs to take off (default: this host's name)
  --all          every owner's

example:
  keepalive detach --cgroup /sys/fs/cgroup/kubepods.slice --owner node-agent-7`,
  inspect: `usage: keepalive inspect --pid PID | --cgroup PATH [--json]

Reads, and writes nothing: every TCP socket of the process (or of every process
in the cgroup and below), with its keepalive settings, how soon an idle dead
peer would be found, and how long ago the peer was last heard (TCP_INFO); for a
cgroup, also the programs that run for its connections, whose this module's
are and what they set, and for each socket the policy that holds for it and
the fields it holds otherwise (drift).

examples:
  keepalive inspect --pid 4242
  keepalive inspect --cgroup /sys/fs/cgroup/system.slice/api.service --json`,
  demo: `usage: keepalive demo [--timeout DURATION] [--json]

Needs no network: opens a loopback connection, applies the deadline's settings
at both ends and prints what the kernel holds beside the defaults. As root it
also cuts a peer inside a private network namespace and times how soon
keepalive finds it dead.

  --timeout DURATION   the deadline to plan (default 30s)

example:
  keepalive demo --timeout 1m`,
};

const FLAGS = {
  idle: { type: "string" },
  interval: { type: "string" },
  count: { type: "string" },
  "user-timeout": { type: "string" },
  timeout: { type: "string" },
  tls: { type: "boolean" },
  for: { type: "string" },
  pid: { type: "string" },
  cgroup: { type: "string" },
  enforce: { type: "boolean" },
  owner: { type: "string" },
  all: { type: "boolean" },
  root: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean" },
  version: { type: "boolean" },
} as const;
type Flag = keyof typeof FLAGS;
type FlagValues = { [F in Flag]?: (typeof FLAGS)[F]["type"] extends "string" ? string : boolean };

const SETTINGS: Flag[] = ["idle", "interval", "count", "user-timeout", "timeout", "tls"];
const ALLOWED: Record<string, Flag[]> = {
  plan: ["count"],
  check: SETTINGS,
  watch: [...SETTINGS, "for"],
  demo: ["timeout"],
  apply: ["idle", "interval", "count", "user-timeout", "timeout", "pid", "cgroup", "enforce", "owner", "root"],
  detach: ["cgroup", "owner", "all"],
  inspect: ["pid", "cgroup"],
};

/** What was typed for each field, by its flag. */
function typedFields(values: FlagValues): Partial<Record<Field, string>> {
  return {
    idleMs: values.idle,
    intervalMs: values.interval,
    count: values.count,
    probes: values.count,
    userTimeoutMs: values["user-timeout"],
    timeoutMs: values.timeout,
    pid: values.pid,
    path: values.cgroup,
    owner: values.owner,
  };
}

/** The options typed, checked against this OS's limits in the flags' terms before anything connects. */
function keepaliveOptions(values: FlagValues, terms: Terms): KeepaliveOptions {
  const options: KeepaliveOptions = {};
  if (values.idle !== undefined) options.idleMs = parseDurationFlag("--idle", values.idle);
  if (values.interval !== undefined) options.intervalMs = parseDurationFlag("--interval", values.interval);
  if (values.count !== undefined) options.count = parseCount("--count", values.count);
  if (values["user-timeout"] !== undefined) {
    options.userTimeoutMs = parseDurationFlag("--user-timeout", values["user-timeout"]);
  }
  if (values.timeout !== undefined) options.timeoutMs = parseDurationFlag("--timeout", values.timeout);
  asUsage(() => planWrites(options, platformFor(os), terms));
  return options;
}

/**
 * What the command line needs under Deno, as the `keepalive` task grants it: libc, the network, `ip` for the
 * demo's namespace and `ss` for the live timer, and the environment that `node:child_process` reads.
 */
export const DENO_PERMISSIONS: readonly string[] = ["--allow-ffi", "--allow-net", "--allow-run=ip", "--allow-env"];

/** How to run this command line again: under Deno with the same permissions as the task. */
function self(): string[] {
  if ("Deno" in globalThis) return [process.execPath, "run", ...DENO_PERMISSIONS, import.meta.url];
  return [process.execPath, fileURLToPath(import.meta.url)];
}

/** `--pid` or `--cgroup`: one of them, not both. */
function oneTarget(command: string, values: FlagValues): "pid" | "cgroup" {
  if ((values.pid === undefined) === (values.cgroup === undefined)) {
    throw new UsageError(`${command} takes --pid PID or --cgroup PATH, one of them`);
  }
  return values.pid === undefined ? "cgroup" : "pid";
}

/** The `--pid` typed, checked. */
function pidOf(values: FlagValues, terms: Terms): number {
  return asUsage(() => checkPid(parseCount("--pid", values.pid!), platformFor(os), terms));
}

function arity(command: string, args: string[], names: string[]): void {
  if (args.length !== names.length) {
    const wanted = names.length ? names.map((name) => `<${name}>`).join(" ") : "no arguments";
    throw new UsageError(`${command} takes ${wanted}; got ${args.length ? args.join(" ") : "none"}`);
  }
}

/** Refuses a flag given twice: which of the two was meant is not this command's to guess. */
function once(tokens: readonly { kind: string; name?: string; rawName?: string; value?: string }[]): void {
  const seen = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const values = seen.get(token.name!) ?? [];
    seen.set(token.name!, [...values, token.value ?? "(set)"]);
    if (values.length > 0) {
      throw new UsageError(`--${token.name} is given twice (${seen.get(token.name!)!.join(", ")}); give it once`);
    }
  }
}

/** The `--cgroup` typed, checked, as an absolute path (a relative one is taken from the working directory). */
function cgroupOf(values: FlagValues, terms: Terms): string {
  return asUsage(() => checkPath(resolve(values.cgroup!), terms));
}

/** The `--owner` typed, checked. */
function ownerOf(values: FlagValues, terms: Terms): string | undefined {
  return asUsage(() => checkCgroupSettings("the flags", { owner: values.owner }, ["owner"], terms).owner);
}

async function run(args: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
    tokens: true,
  });
  once(tokens);
  const [command = "", ...rest] = positionals;
  if (command === "_cut") return await cut();
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  if (!(command in HELP)) {
    throw new UsageError(
      `unknown command "${command}"; commands are plan, check, watch, demo, apply, detach, inspect`,
    );
  }
  if (values.help || command === "") {
    console.log(HELP[command]);
    return command === "" && !values.help ? 2 : 0;
  }
  const stray = (Object.keys(values) as Flag[]).find((flag) => flag !== "json" && !ALLOWED[command].includes(flag));
  if (stray) throw new UsageError(`${command} does not take --${stray}`);
  const json = values.json ?? false;
  const terms = flagTerms(typedFields(values));
  switch (command) {
    case "plan": {
      arity(command, rest, ["deadline"]);
      const timeoutMs = parseDurationFlag("the deadline", rest[0]);
      const probes = values.count === undefined ? undefined : parseCount("--count", values.count);
      const deadline = flagTerms({ ...typedFields(values), timeoutMs: rest[0] }, { timeoutMs: "the deadline" });
      return asUsage(() => plan(timeoutMs, probes, deadline, json));
    }
    case "check":
      arity(command, rest, ["host:port"]);
      return await check(parseHostPort(rest[0]), values.tls ?? false, keepaliveOptions(values, terms), json);
    case "watch":
      arity(command, rest, ["host:port"]);
      return await watch(
        parseHostPort(rest[0]),
        values.tls ?? false,
        keepaliveOptions(values, terms),
        parseDurationFlag("--for", values.for ?? "10m"),
        json,
      );
    case "apply": {
      arity(command, rest, []);
      const target = oneTarget(command, values);
      const stray = (["enforce", "owner", "root"] as const).find((flag) => values[flag] !== undefined);
      if (stray && target !== "cgroup") throw new UsageError(`--${stray} goes with --cgroup`);
      const options = keepaliveOptions(values, terms);
      if (target === "cgroup") {
        const path = cgroupOf(values, terms);
        const settings = {
          enforce: values.enforce ?? false,
          owner: ownerOf(values, terms),
          root: values.root ?? false,
        };
        return asUsage(() => applyToCgroup(path, options, settings, json));
      }
      return apply(pidOf(values, terms), options, json);
    }
    case "detach": {
      arity(command, rest, []);
      if (values.cgroup === undefined) throw new UsageError("detach takes --cgroup PATH");
      if (values.all && values.owner !== undefined) {
        throw new UsageError("detach takes --owner NAME or --all, not both");
      }
      const path = cgroupOf(values, terms);
      return asUsage(() => detach(path, { owner: ownerOf(values, terms), all: values.all ?? false }, json));
    }
    case "inspect":
      arity(command, rest, []);
      return oneTarget(command, values) === "cgroup"
        ? asUsage(() => inspectPath(cgroupOf(values, terms), json))
        : inspectPid(pidOf(values, terms), json);
    default: {
      arity(command, rest, []);
      const timeoutMs = parseDurationFlag("--timeout", values.timeout ?? "30s");
      asUsage(() => planWrites({ timeoutMs }, platformFor(os), terms)); // a deadline too short, before any socket
      return await demo(timeoutMs, json, self());
    }
  }
}

/**
 * Runs the command line: one line on stderr for any error, no stack trace.
 *
 * @param args The arguments after the program.
 * @returns The exit code: 0; 1 for a failure at run time; 2 for a mistake in the call.
 */
export async function main(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    // Only a mistake in what was typed: parseArgs' own, or a value refused before anything ran (see asUsage).
    const code = (error as { code?: unknown }).code;
    const usage = error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
    const message = (error as Error).message;
    // With --json, the error is data too, on stdout where the report would have been.
    if (args.includes("--json")) {
      printJson({ error: { code: typeof code === "string" ? code : usage ? "ERR_USAGE" : "ERR_FAILED", message } });
    } else console.error(`keepalive: ${message}${usage ? " (see keepalive --help)" : ""}`);
    return usage ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
