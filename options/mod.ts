/**
 * Pure: options checked against a platform's limits, a deadline planned,
 * units converted, the text forms (`TCP_KEEPALIVE`, and durations for the
 * flags) read, and the rule of which values someone chose. No runtime
 * globals, so it runs under any JavaScript runtime.
 *
 * @module
 */
export {
  checkCgroupSettings,
  checkNetnsInspection,
  checkPath,
  checkPid,
  checkSweeps,
  type NetnsInspection,
  OWNER_BYTES,
} from "./_checks.ts";
export { isChosen, type Unchosen, unchosen } from "./_chosen.ts";
export { describe } from "./_describe.ts";
export { DURATION_FORM, parseDuration, unitHint } from "./_duration.ts";
export { parseVariable } from "./_environment.ts";
export { planIn, planKeepalive } from "./_plan.ts";
export { type Field, type Terms, textTerms } from "./_terms.ts";
export { cString, cText } from "./_text.ts";
export { deadPeerMs, keepaliveFirst, planWrites, toSettings, type Values, type Write } from "./_writes.ts";
