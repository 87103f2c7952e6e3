// Imports the module and configures one socket.
import net from "node:net";
import { setKeepalive } from "../mod.ts";

const server = net.createServer();
server.listen(0, "127.0.0.1", () => {
  setKeepalive(server, { idleMs: 5000 });
  server.close();
});
