/**
 * One descriptor: its options' values read and written with rollback, what
 * the kernel reports of the connection, its addresses, and errno turned into
 * {@linkcode KeepaliveError}.
 *
 * @module
 */
export { errnoName, KeepaliveError, type KeepaliveErrorInit } from "./_errors.ts";
export { readValues, rewriteValues, type SocketValues, writeValues } from "./_values.ts";
export { readTcpInfo } from "./_tcpinfo.ts";
export {
  addressIs,
  addressKey,
  addressText,
  connected,
  cookieOf,
  endpointText,
  listening,
  type Side,
  tcpPort,
} from "./_address.ts";
