// Imports the module as the npm package ships it (dist/, built by `npm run build`) and configures one socket.
import net from "node:net";
// @ts-ignore: built, not in the repository
import { setKeepalive } from "../dist/mod.js";

const server = net.createServer();
server.listen(0, "127.0.0.1", () => {
  setKeepalive(server, { idleMs: 5000 });
  server.close();
});
