/**
 * Windows: Winsock (`ws2_32.dll`). A `SOCKET` is pointer-sized, errors come
 * from `WSAGetLastError`, and `WSAIoctl` carries `SIO_KEEPALIVE_VALS`.
 *
 * @module
 */
import type { Library, SymbolTable } from "./_library.ts";
import { wholeListing } from "../syscalls/mod.ts";

// Windows lists no socket handles; a handle value is a multiple of 4, so these are the candidates.
const HANDLE_CANDIDATES = 16_384;

const SYMBOLS = {
  // int getsockopt(SOCKET s, int level, int optname, char *optval, int *optlen)
  getsockopt: { parameters: ["u64", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int setsockopt(SOCKET s, int level, int optname, const char *optval, int optlen)
  setsockopt: { parameters: ["u64", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockname(SOCKET s, struct sockaddr *name, int *namelen)
  getsockname: { parameters: ["u64", "buffer", "buffer"], result: "i32" },
  // int getpeername(SOCKET s, struct sockaddr *name, int *namelen)
  getpeername: { parameters: ["u64", "buffer", "buffer"], result: "i32" },
  // int WSAIoctl(SOCKET s, DWORD code, LPVOID in, DWORD inSize, LPVOID out, DWORD outSize,
  //              LPDWORD bytesReturned, LPWSAOVERLAPPED overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
  WSAIoctl: {
    parameters: ["u64", "u32", "buffer", "u32", "buffer", "u32", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  // SOCKET socket(int af, int type, int protocol): INVALID_SOCKET, ~0, reads as -1 when signed
  socket: { parameters: ["i32", "i32", "i32"], result: "i64" },
  // int closesocket(SOCKET s)
  closesocket: { parameters: ["u64"], result: "i32" },
  // int WSAGetLastError(void)
  WSAGetLastError: { parameters: [], result: "i32" },
} as const satisfies SymbolTable;

/** Winsock on Windows. */
export const windowsWinsock: Library<typeof SYMBOLS, Record<never, never>> = {
  paths: ["ws2_32.dll"],
  symbols: SYMBOLS,
  sockets: (symbols) => ({ ...symbols, close: symbols.closesocket, ioctl: symbols.WSAIoctl }),
  errno: (symbols) => symbols.WSAGetLastError(),
  walkSymbols: {},
  listing: () => wholeListing(Array.from({ length: HANDLE_CANDIDATES }, (_, i) => 4 * (i + 1))),
};
