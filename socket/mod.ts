/**
 * One descriptor: the system calls it takes (the binding's contract), its
 * options' values read and written with rollback, what the kernel reports of
 * the connection, its addresses, and errno turned into {@linkcode KeepaliveError}.
 *
 * @module
 */
export type { CgroupSyscalls, Syscalls } from "./_syscalls.ts";
export { allListed, type Listing, wholeListing } from "./_listing.ts";
export { cString, cText } from "../options/mod.ts";
export { errnoName, KeepaliveError, type KeepaliveErrorInit, syscallError } from "./_errors.ts";
export { readValues, rewriteValues, type SocketValues, writeValues } from "./_values.ts";
export { readTcpInfo } from "./_tcpinfo.ts";
export { cookieOf, ipOf, listening, portOf, SOCKADDR, sockaddr, sockaddrText, tcpPort } from "./_address.ts";
