/*
 * main.c - the ovms-sim program: picks the subcommand and hands over.
 *
 *   ovms-sim [run] [run options]  run a scenario, a trace or a live bus      (run.c)
 *   ovms-sim validate FILE...     check scenario files, report every error   (validate.c)
 *   ovms-sim metrics [PATTERN]    list every metric with type, unit, value   (metrics.c)
 *   ovms-sim convert IN OUT       convert a CAN trace between formats        (convert.c)
 *   ovms-sim plot RUN.json        draw a run report's series as an SVG        (plot.c)
 *
 * The option table is options.c.  This folder is the only place that prints to the user or
 * exits; exit codes: app.h (EXIT_*), README "Exit codes".  Core dumps are off from the start
 * (the password is in memory).
 */
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "app/app.h"
#include "core/array.h"
#include "v3/v3.h"

static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
} subcommands[] = {
    {"convert", cmd_convert},
    {"metrics", cmd_metrics},
    {"plot", cmd_plot},
    {"run", cmd_run},
    {"validate", cmd_validate},
};

int main(int argc, char **argv)
{
  /* the MQTT password lives in this process: no core dump may carry it to disk, and no other
   * process of the same user may ptrace it (PR_SET_DUMPABLE 0, RLIMIT_CORE 0) */
  const struct rlimit nocore = {0, 0};
  (void)setrlimit(RLIMIT_CORE, &nocore);
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  v3_register(); /* server.v3.* config keys and `server v3` commands in every module */
  for (size_t i = 0; argc > 1 && i < ARRAY_SIZE(subcommands); i++)
    if (!strcmp(argv[1], subcommands[i].name))
      return subcommands[i].fn(argc - 1, argv + 1);
  return cmd_run(argc, argv);
}
