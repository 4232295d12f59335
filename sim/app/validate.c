/*
 * validate.c - `ovms-sim validate FILE...`: checks scenario files and reports every error of
 * every file ("FILE: ok" for the valid ones); exit 0 when all are valid.
 */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "scenario/scenario.h"

/* ovms-sim validate FILE...: every error of every file, "FILE: ok" for the valid ones. */
int cmd_validate(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage_validate(stdout);
      return 0;
    }
  if (argc < 2)
    return usage_error("validate needs at least one FILE");
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    if (scenario_load(argv[i], &sc, &d) < 0)
      rc = EXIT_USAGE;
    else
      printf("%s: ok (%zu steps, %zu checks)\n", argv[i], sc->n_steps, sc->n_expects);
    print_diag(&d);
    sim_diag_cleanup(&d);
    scenario_free(sc);
  }
  return rc;
}

