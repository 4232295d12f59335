/*
 * options.h - the run options of ovms-sim as one table: each row is an option's long name,
 * short letter, argument, --help text and what setting it does.  getopt_long's table, the
 * short-option string and the --help listing are all made from these rows, so an option is
 * added (or documented) in one place.
 */
#ifndef SIM_APP_OPTIONS_H
#define SIM_APP_OPTIONS_H

#include <stddef.h>

#include "app/app.h"

/* The --help section an option is listed in. */
enum opt_section { SECTION_RUN, SECTION_FLEET, SECTION_CAN };

/* What giving the option does. */
enum opt_kind {
  OPT_FLAG,   /* sets the bool at offset to true */
  OPT_STRING, /* stores the argument (const char *) at offset */
  OPT_CALL,   /* run(o, arg): 0, or the exit code after printing the error */
  OPT_VALUE,  /* value(o, arg, d): 0, or < 0 with the problem in d (printed labelled with
                 the option's name) */
};

struct app_option {
  const char *name;       /* long name, without "--" */
  char letter;            /* short option, '\0' = none */
  const char *arg;        /* the argument's name in --help; "" = takes none */
  enum opt_section section;
  enum opt_kind kind;
  size_t offset;          /* OPT_FLAG, OPT_STRING: offsetof(struct opts, ...) */
  int (*run)(struct opts *o, const char *arg);
  int (*value)(struct opts *o, const char *arg, struct sim_diag *d);
  const char *(*dflt)(void); /* the "%s" of the help text; NULL = none */
  const char *help;       /* lines separated by '\n'; NULL = not listed; a "%s" is replaced
                             by dflt() (a default that comes from the code's constant) */
};

/* The table, in --help order, terminated by a row with name NULL. */
extern const struct app_option app_options[];

#endif
