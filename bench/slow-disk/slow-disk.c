// A slower disk, for benchmarks: an LD_PRELOAD library that adds SLOWDISK_US microseconds to every
// fsync, fdatasync and ftruncate, and (with SLOWDISK_LOG=<file>) logs each call on a *.db* file as
// "<start µs> <main|thread> <call> <path> <duration µs>", so a trace shows which thread waited on the
// disk. Build and use (see docs/benchmarks.md, "sessions"):
//   cc -O2 -shared -fPIC -o /tmp/slow-disk.so bench/slow-disk/slow-disk.c -ldl
//   LD_PRELOAD=/tmp/slow-disk.so SLOWDISK_US=20000 SLOWDISK_LOG=/tmp/fsync.log npm run bench -- sessions
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int logfd = -1;
static long delay_us = 0;
__attribute__((constructor)) static void init(void) {
  const char *p = getenv("SLOWDISK_LOG");
  if (p) logfd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
  const char *d = getenv("SLOWDISK_US");
  if (d) delay_us = atol(d);
}
static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static void note(const char *op, int fd, double t0) {
  if (logfd < 0) return;
  char link[64], path[512];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  path[n > 0 ? n : 0] = 0;
  if (!strstr(path, ".db")) return;
  int main_thread = syscall(SYS_gettid) == getpid();
  dprintf(logfd, "%.0f %s %s %s %.0f\n", t0, main_thread ? "main" : "thread", op, path, now_us() - t0);
}
#define WRAP(name, sig, args) \
  int name sig { \
    static int (*real) sig = 0; \
    if (!real) real = dlsym(RTLD_NEXT, #name); \
    double t0 = now_us(); \
    if (delay_us) usleep(delay_us); \
    int r = real args; \
    note(#name, fd, t0); \
    return r; \
  }
WRAP(fsync, (int fd), (fd))
WRAP(fdatasync, (int fd), (fd))
WRAP(ftruncate, (int fd, off_t len), (fd, len))
WRAP(ftruncate64, (int fd, off_t len), (fd, len))
