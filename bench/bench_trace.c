/*
 * bench_trace.c - trace codec throughput: writes a synthetic candump log of N frames (default
 * 5 000 000; argument 1), converts it into every writable format, then measures for each
 * format
 *   - write: the writer alone, on records already parsed and held in memory (no reader, no
 *     file: the lines go to a buffer that is emptied every few thousand lines),
 *   - candump -> format: trace_convert with the candump reader in front of the writer,
 *   - parse: the streaming reader (mapped file) returning every frame,
 * plus the candump -> candump copy and the peak resident memory (which must not grow with N:
 * streaming).  Every rate is the process CPU time (user + system, CLOCK_PROCESS_CPUTIME_ID:
 * what perf stat calls task-clock), best of REPEAT runs (default 3; argument 3), because the
 * build machine is shared and wall time there says little.
 * With FORMAT (argument 4), only that format (for a profile of it).
 * Each conversion runs to a file and to /dev/null: the system time of the first is mostly the
 * kernel taking 40-90 MB of output into the page cache, and it varies by several times between
 * identical runs with the state of the cache and its write-back; the second is the
 * conversion's own work.
 * Prints numbers; asserts nothing.  Usage: bench_trace [FRAMES] [DIR] [REPEAT] [FORMAT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/sbuf.h"
#include "trace/trace.h"

/* The records of the writer benchmark: this many distinct ones, cycled through. */
#define WRITE_RECS 16384

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void report(const char *fmt, const char *what, long frames, double best)
{
  printf("%-16s %-28s %8ld frames, CPU %7.1f ms = %6.2f M frames/s\n", fmt, what, frames,
         best * 1e3, (double)frames / best / 1e6);
}

/* candump -> to (out_path), best CPU time of repeat runs; < 0 when the conversion fails.
 * out_path NULL: to /dev/null (the conversion's own work without the kernel's taking of the
 * output into the page cache). */
static double bench_convert(const char *in, const char *out_path, const char *to, int repeat,
                            long *frames)
{
  double best = -1;
  for (int k = 0; k < repeat; k++) {
    struct trace_convert_stats st;
    struct sim_diag d = SIM_DIAG_INIT;
    if (out_path)
      unlink(out_path); /* a new file each run: truncating the last run's (50-100 MB) is not
                           the conversion's work (up to 0.15 s of system time) */
    double t = cpu_s();
    int rc = trace_convert(in, out_path ? out_path : "/dev/null", &(struct trace_convert_opts){.to = to}, &st, &d);
    double dt = cpu_s() - t;
    sim_diag_cleanup(&d);
    if (rc < 0)
      return -1;
    *frames = (long)st.frames;
    if (best < 0 || dt < best)
      best = dt;
  }
  return best;
}

/* The streaming reader over path in fmt, best CPU time of repeat runs. */
static double bench_parse(const char *path, const char *fmt, int repeat, long *frames)
{
  double best = -1;
  for (int k = 0; k < repeat; k++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct trace_reader *r;
    struct trace_reader_opts o = {.format = fmt, .map = true};
    if (trace_reader_open(&r, path, &o, &d) < 0) {
      sim_diag_cleanup(&d);
      return -1;
    }
    struct sim_frame fr;
    long n = 0;
    double t = cpu_s();
    while (trace_reader_next_frame(r, &fr, &d) > 0)
      n++;
    double dt = cpu_s() - t;
    trace_reader_close(r);
    sim_diag_cleanup(&d);
    *frames = n;
    if (best < 0 || dt < best)
      best = dt;
  }
  return best;
}

/* The writer of fmt alone: n records from recs[0, nrecs) cycled, best CPU time of repeat runs. */
static double bench_write(const struct trace_format *fmt, const struct trace_record *recs,
                          long nrecs, long n, int repeat)
{
  double best = -1;
  struct sbuf out = SBUF_INIT;
  for (int k = 0; k < repeat; k++) {
    struct trace_wstate ws;
    trace_wstate_init(&ws);
    out.len = 0;
    double t = cpu_s();
    if (fmt->header)
      fmt->header(&ws, &recs[0], &out);
    for (long i = 0, j = 0; i < n; i++) {
      /* times go on growing across the cycles, as in a real trace */
      fmt->write(&ws, &recs[j], &out);
      if (++j == nrecs)
        j = 0;
      if (out.len > (1u << 20))
        out.len = 0;
    }
    double dt = cpu_s() - t;
    if (best < 0 || dt < best)
      best = dt;
  }
  sbuf_free(&out);
  return best;
}

/* Up to max frame records of the candump log at path into recs; returns how many. */
static long load_records(const char *path, struct trace_record *recs, long max)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_reader *r;
  long n = 0;
  if (trace_reader_open(&r, path, &(struct trace_reader_opts){.format = "candump"}, &d) == 0) {
    struct trace_record rec;
    while (n < max && trace_reader_next(r, &rec, &d) > 0)
      if (rec.kind == TRACE_REC_FRAME) {
        recs[n] = rec;
        recs[n].name = recs[n].text = recs[n].unit = ""; /* (no strings in a frame record) */
        n++;
      }
    trace_reader_close(r);
  }
  sim_diag_cleanup(&d);
  return n;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000000;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  int repeat = argc > 3 ? atoi(argv[3]) : 3;
  const char *only = argc > 4 ? argv[4] : NULL;
  if (n <= 0)
    n = 5000000;
  if (repeat <= 0)
    repeat = 3;
  char in[512];
  snprintf(in, sizeof(in), "%s/bench-trace-%ld-%d.log", dir, n, (int)getpid());
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
  fflush(f);
  fsync(fileno(f)); /* its write-back not under the first conversion */
  fclose(f);
  printf("synthetic candump log: %ld frames, %s; CPU time (user + sys), best of %d\n", n, in,
         repeat);
  printf("peak RSS after generating: %ld KiB\n", peak_kb());

  static struct trace_record recs[WRITE_RECS];
  long nrecs = load_records(in, recs, WRITE_RECS);

  char out[600];
  snprintf(out, sizeof(out), "%s.out.log", in);
  long frames = 0;
  double best = bench_convert(in, out, "candump", repeat, &frames);
  if (best < 0) {
    fprintf(stderr, "convert failed\n");
    return 1;
  }
  report("candump", "convert candump -> candump", frames, best);
  if ((best = bench_convert(in, NULL, "candump", repeat, &frames)) >= 0)
    report("candump", "  the same to /dev/null", frames, best);
  unlink(out);

  for (size_t k = 0; trace_formats[k]; k++) {
    const struct trace_format *fmt = trace_formats[k];
    if (!(fmt->caps & TRACE_CAP_WRITE) || (only && strcmp(only, fmt->name)))
      continue;
    char path[640], what[64];
    snprintf(path, sizeof(path), "%s.%s", in, fmt->name);
    if (nrecs > 0)
      report(fmt->name, "write (records in memory)", n, bench_write(fmt, recs, nrecs, n, repeat));
    if (strcmp(fmt->name, "candump")) {
      best = bench_convert(in, path, fmt->name, repeat, &frames);
      if (best < 0)
        continue;
      snprintf(what, sizeof(what), "convert candump -> %s", fmt->name);
      report(fmt->name, what, frames, best);
      if ((best = bench_convert(in, NULL, fmt->name, repeat, &frames)) >= 0)
        report(fmt->name, "  the same to /dev/null", frames, best);
    }
    const char *src = strcmp(fmt->name, "candump") ? path : in;
    best = bench_parse(src, fmt->name, repeat, &frames);
    if (best >= 0)
      report(fmt->name, "parse", frames, best);
    if (src != in)
      unlink(path);
  }
  printf("peak RSS: %ld KiB (streaming: independent of the number of frames)\n", peak_kb());
  unlink(in);
  return 0;
}
