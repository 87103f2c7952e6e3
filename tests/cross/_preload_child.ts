// Run with the preload (tcp-keepalive/auto) and TCP_KEEPALIVE set, under a runtime release of the range claimed: a
// node:net connection to a server of its own, made after start, as an application makes it; says its pid and the
// client's port, and holds on until a line on stdin. The test reads what the kernel holds, from outside.
import net from "node:net";

const server = net.createServer((socket) => socket.on("error", () => {}));
server.listen(0, "127.0.0.1", () => {
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1", () => {
    console.log(JSON.stringify({ pid: process.pid, port: client.localPort }));
  });
  process.stdin.once("data", () => process.exit(0));
});
