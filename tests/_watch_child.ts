// Runs inside a network namespace of its own (see cli_test.ts): a server on
// loopback, `keepalive watch` against it as a subprocess, and loopback taken
// down once the watch has connected. Prints the watch's output, stdout and
// stderr, as JSON; the last argument is "--json" or "--text".
import { execFile, execFileSync } from "node:child_process";
import net from "node:net";

const cli = process.argv.slice(2, -1); // how to run the command line
const json = process.argv.at(-1) === "--json" ? ["--json"] : [];
const { promise: connected, resolve: connect } = Promise.withResolvers<void>();
const server = net.createServer((socket) => (socket.on("data", () => {}), connect()));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as net.AddressInfo).port;
const watching = new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
  execFile(cli[0], [
    ...cli.slice(1),
    "watch",
    `127.0.0.1:${port}`,
    "--idle",
    "1s",
    "--interval",
    "1s",
    "--count",
    "2",
    "--for",
    "20s",
    ...json,
  ], (error, stdout, stderr) => error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }))
);
await connected;
await new Promise((resolve) => setTimeout(resolve, 200)); // the watch has applied its settings
execFileSync("ip", ["link", "set", "lo", "down"]);
console.log(JSON.stringify(await watching));
process.exit(0);
