// Stand-ins for the glibc-only symbols that Debian's libstdc++ and libgcc_s (built for glibc) want, so that Bun's
// musl build runs on Debian's musl: enough for Bun to start and run the module, not a port of glibc. Built as
// ld-linux-x86-64.so.2, the name libstdc++ asks for, by tests/cross/prepare.sh with the npm Zig.
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

// glibc 2.36; musl 1.2.3 has none. Bun seeds hashes with it.
uint32_t arc4random(void) {
  uint32_t value = 0;
  getentropy(&value, sizeof value);
  return value;
}

// glibc's internal name for strftime_l, which libstdc++'s time_get calls.
size_t __strftime_l(char *s, size_t max, const char *format, const struct tm *tm, locale_t locale) {
  return strftime_l(s, max, format, tm, locale);
}

// Thread-local destructors: not run at thread exit here (the tests' threads live as long as the process).
int __cxa_thread_atexit_impl(void (*destructor)(void *), void *object, void *dso) {
  (void)destructor, (void)object, (void)dso;
  return 0;
}

// libstdc++ skips its atomics while this is set; 0 keeps them.
char __libc_single_threaded = 0;

// glibc 2.35's unwinder lookup; failing sends libgcc_s to dl_iterate_phdr, which musl has.
int _dl_find_object(void *pc, void *result) {
  (void)pc, (void)result;
  return -1;
}

// libgcc's CPU model, which libgcc_s refers to: nothing detected.
void __cpu_indicator_init(void) {}
struct {
  unsigned vendor, type, subtype, features[1];
} __cpu_model;
