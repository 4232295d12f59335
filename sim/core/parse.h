/*
 * parse.h - strict parsing of the values people type: numbers, durations, times.
 *
 * Every function consumes the whole string (surrounding blanks allowed) or fails: "12abc",
 * "", "1e999" and "nan" are errors, never a zero.  Shared by the command line, config files,
 * scenarios, metric values and shell commands.  All return 0 or SIM_EPARSE (SIM_ERANGE for
 * values that do not fit).
 */
#ifndef SIM_PARSE_H
#define SIM_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A yes/no word, case-insensitive: yes, true, on, y, 1, open for true; no, false, off, n, 0,
 * closed for false.  The firmware's strtobool() (main/ovms_utils.h), behind
 * ConfigParamMap::GetValueBool() (main/ovms_config.cpp) and OvmsMetricBool::SetValue(std::string)
 * (main/ovms_metrics.cpp), takes "yes", "1" and "true" as true and any other text as false;
 * the simulator accepts this wider list and rejects every other word, so that a typo in a
 * scenario or config file is reported instead of being read as "no".
 */
int parse_bool(const char *s, bool *out);
int parse_double(const char *s, double *out);
int parse_long(const char *s, long *out);
int parse_u64(const char *s, uint64_t *out);
/*
 * A duration in ns: a plain number is seconds ("90", "1.5"); or number+unit groups
 * "90s", "15min", "15m", "2h", "1h30m", "500ms", "1d".
 */
int parse_duration(const char *s, int64_t *out);
/* The end of the times parse_time() accepts: 2201-01-01 00:00:00 UTC (the scenario start:
 * limit; simulation time in int64 nanoseconds ends in 2262). */
#define PARSE_TIME_END INT64_C(7289654400)
/* A UTC time in seconds since 1970: "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SSZ",
 * "YYYY-MM-DD" or epoch seconds; dates that do not exist are SIM_EPARSE, times before 1970
 * or from PARSE_TIME_END on SIM_ERANGE. */
int parse_time(const char *s, int64_t *out);

/* The Levenshtein distance between a and b (insertions, deletions, substitutions; case
 * counts), for "did you mean" suggestions.  Words longer than 63 bytes are never close: the
 * result is then 64 or more. */
unsigned edit_distance(const char *a, const char *b);
/* Whether b is a plausible correction of the typo a: edit_distance() at most 1 for words up
 * to 4 bytes, 2 up to 8, else 3 - and less than the length of a. */
bool edit_close(const char *a, const char *b);

#endif
