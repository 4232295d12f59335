/*
 * error.c - texts and names for the error space of error.h.
 */
#include "core/error.h"

#include <errno.h>
#include <string.h>

const char *sim_strerror(int err)
{
  switch (err) {
#define XX(code, text) case SIM_E##code: return text;
    SIM_ERRNO_MAP(XX)
#undef XX
  case 0:
    return "success";
  default:
    return err < 0 ? strerror(-err) : "unknown error";
  }
}

const char *sim_err_name(int err)
{
  switch (err) {
#define XX(code, _) case SIM_E##code: return "SIM_E" #code;
    SIM_ERRNO_MAP(XX)
#undef XX
  case 0:
    return "OK";
  default: {
    const char *n = err < 0 ? strerrorname_np(-err) : NULL;
    return n ? n : "EUNKNOWN";
  }
  }
}
