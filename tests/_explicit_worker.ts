// A Worker (node:worker_threads, which every runtime has), with its own copy of the module: it sets the descriptor
// it is sent with the options it is sent, and answers with what setKeepalive returned.
import { parentPort } from "node:worker_threads";
import { setKeepalive } from "../mod.ts";

parentPort!.once("message", ({ fd, options }) => parentPort!.postMessage(setKeepalive(fd, options)));
