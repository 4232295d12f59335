/*
 * convert.c - `ovms-sim convert [--from FMT] [--to FMT] [--keep-going] IN OUT`: converts a CAN
 * trace between formats (trace/trace.h); --list-formats lists them.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "core/error.h"
#include "trace/trace.h"

int cmd_convert(int argc, char **argv)
{
  static const struct option copts[] = {
    {"from", required_argument, NULL, 'F'},
    {"to", required_argument, NULL, 'T'},
    {"keep-going", no_argument, NULL, 'k'},
    {"list-formats", no_argument, NULL, 'l'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct trace_convert_opts co = {0};
  bool quiet = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":kqh", copts, NULL)) != -1) {
    switch (c) {
    case 'F':
      if (!trace_format_find(optarg))
        return usage_error("convert: unknown input format '%s'", optarg);
      co.from = optarg;
      break;
    case 'T': {
      const struct trace_format *f = trace_format_find(optarg);
      if (!f || !f->write)
        return usage_error("convert: unknown output format '%s'", optarg);
      co.to = optarg;
      break;
    }
    case 'k': co.keep_going = true; break;
    case 'q': quiet = true; break;
    case 'l':
      for (size_t i = 0; trace_formats[i]; i++)
        printf("%-15s %-18s %s\n", trace_formats[i]->name, trace_formats[i]->exts,
               trace_formats[i]->desc);
      return 0;
    case 'h': usage_convert(stdout); return 0;
    case ':': return usage_error("convert: option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("convert: unknown option '%s'", argv[optind - 1]);
    }
  }
  if (argc - optind != 2)
    return usage_error("convert needs an input and an output file");
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_convert_stats st;
  int rc = trace_convert(argv[optind], argv[optind + 1], &co, &st, &d);
  print_diag(&d);
  sim_diag_cleanup(&d);
  if (rc == SIM_EPARSE || rc == SIM_EFORMAT || rc == SIM_ETRUNC)
    return EXIT_USAGE;
  if (rc < 0)
    return EXIT_RUNTIME; /* a file that cannot be read or written (the message printed) */
  if (!quiet && strcmp(argv[optind + 1], "-"))
    fprintf(stderr, "ovms-sim: converted %lu records (%lu frames), %lu dropped, %lu bad lines\n",
            st.records, st.frames, st.dropped, st.bad_lines);
  return 0;
}

