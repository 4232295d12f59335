/*
 * srv_error.c - srv_strerror(): texts of the SRV_E* table, else strerror(-rc).
 */
#include "srv_error.h"

#include <string.h>

const char *srv_strerror(int rc)
{
  switch (rc) {
#define X(name, val, text)                                                                         \
  case name:                                                                                       \
    return text;
    SRV_ERROR_TABLE(X)
#undef X
  default:
    break;
  }
  if (rc < 0 && rc > -4096)
    return strerror(-rc);
  return rc == 0 ? "success" : "unknown error";
}
