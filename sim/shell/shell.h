/*
 * shell.h - the module's command shell as Server V3 runs it (OvmsServerV3::RunCommand() with a
 * BufferedShell, V3/components/ovms_server_v3/src/ovms_server_v3.cpp).
 *
 * A tree of commands with the firmware's names and output texts (V3/main/ovms_command.cpp,
 * V3/components/vehicle/vehicle_shell.cpp, ovms_server_v3.cpp, ovms_metrics.cpp ...), any
 * unique prefix accepted at every level (OvmsCommandMap::FindUniquePrefix).  Input is split
 * into lines and words as the microrl line editor does: 800 characters per line, 128 words,
 * '...' and "..." quoting.  Commands run in secure mode (no `enable` needed) and act on the
 * simulation through sim->control, metrics, configuration, events and notifications.
 */
#ifndef SIM_SHELL_H
#define SIM_SHELL_H

#include <stddef.h>

#include "core/sbuf.h"

struct sim;

/* microrl limits (V3/components/microrl/microrl_config.h). */
#define SHELL_LINE_MAX 800
#define SHELL_WORDS_MAX 128 /* microrl _COMMAND_TOKEN_NMB: a line has fewer words */
#define SHELL_QUOTED_MAX 10 /* microrl _QUOTED_TOKEN_NMB */

/* One command of the tree (OvmsCommand).  fn NULL: only children; fn with children: runs when
 * no further word follows (as "server v3").  usage is a template: "<$C>" / "[$C]" expand to
 * the children's names, anything else is printed as it is.  children is sorted by name and
 * terminated by an entry with name NULL (or is NULL). */
struct shell_cmd;
typedef void (*shell_cmd_fn)(struct sim *sim, struct sbuf *out, const struct shell_cmd *c,
                             int argc, char **argv);
struct shell_cmd {
  const char *name;
  const char *title;
  shell_cmd_fn fn;
  const char *usage;
  int min, max;                     /* argument count accepted by fn */
  const struct shell_cmd *children;
};

/*
 * Adds cmd (borrowed: static) below the command named by parent, a path of exact command
 * names separated by spaces ("server"; "" = the root), as a component registers its own
 * commands in the firmware (MyCommandApp.FindCommand("server")->RegisterCommand("v3", ...) in
 * OvmsServerV3Init, components/ovms_server_v3/src/ovms_server_v3.cpp).  The registered
 * commands take part in prefix matching, "?" listings and usage texts in name order, like the
 * built-in ones.  Process-wide (every module has the same commands); call it at program start.
 * Registering the same cmd again does nothing.  Returns 0, SIM_ENOTFOUND when parent does not
 * exist, SIM_EEXIST when parent already has another command of that name, SIM_ELIMIT past 16
 * registrations.
 */
int shell_register(const char *parent, const struct shell_cmd *cmd);

/*
 * Executes input (len bytes, not necessarily NUL-terminated) as a BufferedShell does: every
 * LF-terminated line (and a last unterminated one) is run, and the outputs are concatenated
 * into out (appended).  Empty input appends nothing.  Never fails: errors are output text.
 */
void shell_execute(struct sim *sim, const char *input, size_t len, struct sbuf *out);

/* Splits one line into words as microrl's split() does ('...'/"..." quoting at the start of a
 * word; no escapes).  Returns the number of words (< max) with word pointers into buf
 * (modified in place), or -1 when a quote is not closed, a closing quote is followed by more
 * of the word, there are more than SHELL_QUOTED_MAX quoted words, or max words or more
 * (shell_execute() then answers "ERROR:too many tokens or invalid quoting"). */
int shell_split(char *buf, char **words, int max);

#endif
