/*
 * srv_error.h - the error space of the server parts (server/): functions return 0 (or a count)
 * on success and a negative number on failure: -errno for system errors, or one of the
 * SRV_E* codes below for conditions that have no errno.  srv_strerror() names both.  Foreign
 * codes (SQLite, libpq, OpenSSL, MQTT reason codes) are translated where they are met.
 */
#ifndef SRV_ERROR_H
#define SRV_ERROR_H

#define SRV_ERROR_TABLE(X)                                                                         \
  X(SRV_EDB, -1000, "database error")                                                              \
  X(SRV_EBUSY, -1001, "database locked")                                                           \
  X(SRV_EFULL, -1002, "database full")                                                             \
  X(SRV_EHASH, -1003, "malformed password hash")                                                   \
  X(SRV_EDENIED, -1004, "access denied")                                                           \
  X(SRV_EPROTO, -1005, "MQTT protocol error")                                                      \
  X(SRV_EURL, -1006, "malformed database or broker URL")                                           \
  X(SRV_EREFUSED, -1007, "connection refused by the broker")                                       \
  X(SRV_ECRYPTO, -1008, "crypto library error")

enum srv_error {
#define X(name, val, text) name = val,
  SRV_ERROR_TABLE(X)
#undef X
};

/* A static description of rc (negative errno or SRV_E*). */
const char *srv_strerror(int rc);

#endif
