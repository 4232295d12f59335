/*
 * error.h - the one error space of ovms-sim.
 *
 * Every fallible function returns an int: 0 (or a documented non-negative count) on success,
 * a negative value on failure.  A negative value is either -errno (a system error) or one of
 * the SIM_E* codes below, generated from one X-macro table so that the enum, sim_strerror()
 * and sim_err_name() can never disagree.  Foreign codes (MOSQ_ERR_*, libyaml) are translated
 * where they enter the project.
 */
#ifndef SIM_ERROR_H
#define SIM_ERROR_H

#define SIM_ERRNO_MAP(XX)                                                   \
  XX(PARSE, "parse error")                                                  \
  XX(CONFIG, "invalid configuration")                                       \
  XX(NOTFOUND, "not found")                                                 \
  XX(TYPE, "wrong type")                                                    \
  XX(RANGE, "value out of range")                                           \
  XX(EXIST, "already exists")                                               \
  XX(UNSUP, "not supported")                                                \
  XX(FORMAT, "unknown or unsupported format")                               \
  XX(STATE, "operation not valid in this state")                            \
  XX(EOF, "end of input")                                                   \
  XX(TRUNC, "data truncated")                                               \
  XX(MQTT, "MQTT protocol error")                                           \
  XX(AUTH, "login refused by the broker")                                   \
  XX(TLS, "TLS error")                                                      \
  XX(NOCAN, "CAN is not supported by this kernel")                          \
  XX(EXPECT, "expectation failed")                                          \
  XX(LIMIT, "limit reached")

enum sim_err {
  SIM_ERR_BASE_ = -10000,
#define XX(code, _) SIM_E##code,
  SIM_ERRNO_MAP(XX)
#undef XX
  SIM_ERR_END_
};

/* A human-readable text for err (SIM_E* or -errno).  Never NULL, never to be freed. */
const char *sim_strerror(int err);

/* The symbolic name of err ("SIM_EPARSE", "ENOENT", ...).  Never NULL. */
const char *sim_err_name(int err);

#endif
