// Runs under a runtime built for another CPU or C library (see cross_test.ts): the arm64 builds of Deno, Bun and Node
// under qemu, Bun's musl build. It does what the module does on this machine's own builds, on the real kernel:
// finds its runtime's own sockets by their addresses and sets them, sets a listener that passes its settings to what
// it accepts, sweeps the process, and takes another process's sockets through pidfd_getfd; then says where each
// socket is, and waits for a line on stdin while the test reads them from outside.
//   <runtime> tests/cross/_child.ts <pid of another process>
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { autoKeepalive, getKeepalive, setKeepalive, setProcessKeepalive } from "../../mod.ts";
import { openPair } from "../_net.ts";
import { runtime } from "../_harness.ts";
import { CHOSEN, LISTENER, OTHER_PROCESS, SWEPT } from "./_settings.ts";

const other = Number(process.argv.at(-1));
const pair = await openPair("127.0.0.1");
setKeepalive(pair.client, CHOSEN); // Deno's found by its addresses (getdents64), Bun's and Node's by their fd
setKeepalive(pair.listener, LISTENER);
// A connection accepted after the listener was set inherits it: Bun and Node accept by themselves, Deno when asked.
const late = net.connect(pair.listenerPort, "127.0.0.1");
await new Promise((resolve) => late.once("connect", resolve));
if (runtime === "deno") await (pair.listener as Deno.Listener).accept();
await new Promise((resolve) => setTimeout(resolve, 100));
// Sweeps: the late client and the first accepted socket held nothing chosen; the others keep theirs.
const sweeps = autoKeepalive(SWEPT, { everyMs: 2 ** 31 - 1 });
sweeps.sweep(); // the first sweep, now: on the timer it would come in slices
sweeps.stop();
const taken = setProcessKeepalive(other, OTHER_PROCESS);
const maps = readFileSync("/proc/self/maps", "utf8");
console.log(JSON.stringify({
  pid: process.pid,
  arch: process.arch,
  libc: /\s(\/\S*(?:ld-musl-[\w.-]+|\/libc\.so(?:\.6)?))$/m.exec(maps)?.[1], // the C library it loaded
  chosenPort: pair.clientPort,
  listenerPort: pair.listenerPort,
  latePort: late.localPort,
  readBack: getKeepalive(pair.client),
  taken: taken.length,
}));
process.stdin.once("data", () => {
  late.destroy();
  pair.close();
  process.exit(0);
});
