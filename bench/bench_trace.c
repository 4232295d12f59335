/*
 * bench_trace.c - trace codec throughput: writes a synthetic candump log of N frames (default
 * 5 000 000; argument 1), converts it into every writable format, then measures for each
 * format how many frames per second the streaming reader parses and how many candump -> format
 * converts (the writer with the candump reader), plus the candump -> candump conversion time
 * and the peak resident memory (which must not grow with N: streaming).
 * Prints numbers; asserts nothing.  Usage: bench_trace [FRAMES] [DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "trace/trace.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000000;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  if (n <= 0)
    n = 5000000;
  char in[512];
  snprintf(in, sizeof(in), "%s/bench-trace-%ld.log", dir, n);
  FILE *f = fopen(in, "w");
  if (!f) {
    perror(in);
    return 1;
  }
  static const unsigned ids[] = {0x1DB, 0x1DC, 0x55B, 0x5BC, 0x284, 0x18DAF110, 0x7BB, 0x390};
  uint64_t x = 88172645463325252ull;
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    unsigned id = ids[x % 8];
    long us = 1724333002L * 1000000L + i * 250;
    fprintf(f, "(%ld.%06ld) can%d %0*X#%016llX\n", us / 1000000, us % 1000000, (int)(x >> 60) & 1,
            id > 0x7FF ? 8 : 3, id, (unsigned long long)(x >> 3));
  }
  fclose(f);
  printf("synthetic candump log: %ld frames, %s\n", n, in);
  printf("peak RSS after generating: %ld KiB\n", peak_kb());

  double t = now_s();
  char out[600];
  snprintf(out, sizeof(out), "%s.out.log", in);
  struct trace_convert_stats st;
  struct sim_diag d = SIM_DIAG_INIT;
  if (trace_convert(in, out, &(struct trace_convert_opts){.to = "candump"}, &st, &d) < 0) {
    fprintf(stderr, "convert failed\n");
    return 1;
  }
  double dt = now_s() - t;
  printf("%-16s convert candump -> candump: %.3f s, %.2f M frames/s\n", "candump", dt,
         (double)st.frames / dt / 1e6);
  unlink(out);

  for (size_t k = 0; trace_formats[k]; k++) {
    const struct trace_format *fmt = trace_formats[k];
    char path[640];
    snprintf(path, sizeof(path), "%s.%s", in, fmt->name);
    if (strcmp(fmt->name, "candump")) {
      /* the writer's rate: candump -> fmt (the candump reader included, its rate below) */
      t = now_s();
      if (trace_convert(in, path, &(struct trace_convert_opts){.to = fmt->name}, &st, &d) < 0)
        continue;
      dt = now_s() - t;
      printf("%-16s convert candump -> %s: %ld frames in %.3f s = %.2f M frames/s\n", fmt->name,
             fmt->name, (long)st.frames, dt, (double)st.frames / dt / 1e6);
    }
    const char *src = strcmp(fmt->name, "candump") ? path : in;
    struct trace_reader *r;
    struct trace_reader_opts o = {.format = fmt->name, .map = true};
    if (trace_reader_open(&r, src, &o, &d) < 0)
      continue;
    struct sim_frame fr;
    long frames = 0;
    t = now_s();
    while (trace_reader_next_frame(r, &fr, &d) > 0)
      frames++;
    dt = now_s() - t;
    trace_reader_close(r);
    printf("%-16s parse: %ld frames in %.3f s = %.2f M frames/s\n", fmt->name, frames, dt,
           (double)frames / dt / 1e6);
    if (src != in)
      unlink(path);
  }
  printf("peak RSS: %ld KiB (streaming: independent of the number of frames)\n", peak_kb());
  sim_diag_cleanup(&d);
  unlink(in);
  return 0;
}
