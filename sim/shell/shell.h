/*
 * shell.h - the module's command shell as Server V3 runs it (spec/server-v3.md 1.8 and 4).
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
#define SHELL_WORDS_MAX 128

/*
 * Executes input (len bytes, not necessarily NUL-terminated) as a BufferedShell does: every
 * LF-terminated line (and a last unterminated one) is run, and the outputs are concatenated
 * into out (appended).  Empty input appends nothing.  Never fails: errors are output text.
 */
void shell_execute(struct sim *sim, const char *input, size_t len, struct sbuf *out);

/* Splits one line into words as microrl does ('...'/"..." quoting; no escapes).  Returns the
 * number of words (<= max) with word pointers into buf (modified in place), or -1 when a
 * quote is not closed. */
int shell_split(char *buf, char **words, int max);

#endif
