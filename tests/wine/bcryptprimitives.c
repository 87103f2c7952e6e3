/* Wine 8 lacks bcryptprimitives.dll, which Bun's Windows build imports for
 * ProcessPrng; this stand-in lets bun.exe start under Wine. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  return BCryptGenRandom(NULL, data, (ULONG)length, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
