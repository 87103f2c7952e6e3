// A Worker that imports the module and answers the first message with a plan.
import { planKeepalive } from "../mod.ts";

self.addEventListener("message", (event) => {
  (self as unknown as Worker).postMessage(planKeepalive((event as MessageEvent<number>).data).idleMs);
});
