/*
 * tz.h - checking a POSIX TZ string (the firmware's config "vehicle timezone", a scenario's
 * timezone:), so that a typo is an error with its position instead of silently UTC.
 */
#ifndef SIM_CORE_TZ_H
#define SIM_CORE_TZ_H

#include <stddef.h>

/*
 * Checks tz against the TZ grammar of POSIX.1-2017 section 8.3 (XBD "Other Environment
 * Variables"): std offset [dst [offset] [,rule,rule]], names of 3 or more letters or <quoted>,
 * offsets [+-]hh[:mm[:ss]] (hh 0-24), rules Jn (1-365), n (0-365) or Mm.w.d with an optional
 * /time (hours up to 167, as glibc and RFC 8536 allow).  The ":..." form and file names of
 * the time zone database are refused: the module's C library takes only the POSIX form.
 * Returns NULL when tz is valid, else a message (static) and sets *off to the byte offset of
 * the problem.
 */
const char *sim_tz_check(const char *tz, size_t *off);

#endif
