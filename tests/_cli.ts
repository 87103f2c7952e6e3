// The command line as users run it, under the runtime running the tests.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DENO_PERMISSIONS } from "../cli/_command.ts";
import { runtime } from "./_harness.ts";

/** The command line's entry point. */
export const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
/** The test fixtures' directory, with a trailing slash. */
export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
/** The command that runs the CLI: as `deno task keepalive` runs it, and as Bun and Node do. */
export const RUN = runtime === "deno"
  ? [process.execPath, "run", ...DENO_PERMISSIONS, CLI]
  : runtime === "node"
  ? [process.execPath, "--disable-warning=ExperimentalWarning", CLI]
  : [process.execPath, CLI];
/** The test certificate's authority, for --tls: Deno reads DENO_CERT, Bun and Node NODE_EXTRA_CA_CERTS. */
export const ENV = { ...process.env, DENO_CERT: `${FIXTURES}cert.pem`, NODE_EXTRA_CA_CERTS: `${FIXTURES}cert.pem` };

/** How a run of the CLI ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args`, as `prefix` (such as `setpriv ...`) before it, if given. */
export function keepalive(args: string[], prefix: string[] = []): Promise<Run> {
  const [file, ...rest] = [...prefix, ...RUN, ...args];
  return new Promise((resolve) =>
    execFile(
      file,
      rest,
      { env: ENV },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    )
  );
}
