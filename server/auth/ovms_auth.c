/*
 * ovms_auth.c - ovms_auth.so, a mosquitto 2.0 plugin (plugin API version 5) that checks users
 * against the server's user database and gives each user its own ovms/<user>/# tree, as the
 * 2018 Server V3 design post planned ("just put in the server username and password") and as
 * the OVMS server's /mqapi/auth and /mqapi/acl endpoints decide for mosquitto-auth-plug.
 *
 * mosquitto.conf:
 *     plugin /usr/lib/ovms/ovms_auth.so
 *     plugin_opt_database sqlite:/var/lib/ovms/users.db     (or postgresql://...)
 *     plugin_opt_iterations 100000       PBKDF2 iterations when a hash is re-hashed
 *     plugin_opt_cache_ttl 60            seconds a successful login is cached
 *     plugin_opt_poll_interval 1         seconds between revocation polls (<= 5)
 *     plugin_opt_fail_user 5             failed logins per user name per window
 *     plugin_opt_fail_addr 30            failed logins per client address per window
 *     plugin_opt_fail_window 60          seconds
 *
 * The decisions are in server/common/auth_core.c; this file registers MOSQ_EVT_BASIC_AUTH,
 * MOSQ_EVT_ACL_CHECK and MOSQ_EVT_TICK (include/mosquitto_broker.h, include/mosquitto_plugin.h
 * of eclipse/mosquitto 2.0), logs every refusal with its reason (never the password) through
 * mosquitto_log_printf, and on the tick disconnects the clients of users whose entry changed
 * (mosquitto_kick_client_by_username), so a deleted user or a changed password is out within
 * the poll interval.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "auth_core.h"
#include "core/array.h"
#include "pwhash.h"
#include "srv_error.h"

/* The module is built with hidden visibility; only the plugin entry points are exported
 * (mosq_plugin_EXPORT is empty on Linux). */
#define PLUGIN_EXPORT __attribute__((visibility("default")))

struct plugin {
  mosquitto_plugin_id_t *id;
  struct auth *auth;
};

static const char *access_name(int access)
{
  switch (access) {
  case MOSQ_ACL_READ:
    return "read";
  case MOSQ_ACL_WRITE:
    return "write";
  case MOSQ_ACL_SUBSCRIBE:
    return "subscribe";
  case MOSQ_ACL_UNSUBSCRIBE:
    return "unsubscribe";
  default:
    return "access";
  }
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
  struct plugin *p = userdata;
  struct mosquitto_evt_basic_auth *ed = event_data;
  const char *addr = mosquitto_client_address(ed->client);
  const char *cid = mosquitto_client_id(ed->client);
  if (!ed->username) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "ovms_auth: refused client %s from %s: no user name",
                         cid ? cid : "?", addr ? addr : "?");
    return MOSQ_ERR_AUTH;
  }
  const char *reason = "refused";
  bool cached = false;
  int rc = auth_login(p->auth, ed->username, ed->password, addr, auth_now(), &reason, &cached);
  if (rc == AUTH_OK)
    return MOSQ_ERR_SUCCESS;
  mosquitto_log_printf(rc < 0 ? MOSQ_LOG_WARNING : MOSQ_LOG_NOTICE,
                       "ovms_auth: refused login of user '%s' (client %s) from %s: %s",
                       ed->username, cid ? cid : "?", addr ? addr : "?", reason);
  return MOSQ_ERR_AUTH;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
  struct plugin *p = userdata;
  struct mosquitto_evt_acl_check *ed = event_data;
  const char *user = mosquitto_client_username(ed->client);
  const char *reason = "denied";
  if (auth_acl(p->auth, user, ed->topic, ed->access, auth_now(), &reason))
    return MOSQ_ERR_SUCCESS;
  const char *cid = mosquitto_client_id(ed->client);
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "ovms_auth: denied %s of '%s' to user '%s' (client %s): %s",
                       access_name(ed->access), ed->topic ? ed->topic : "", user ? user : "",
                       cid ? cid : "?", reason);
  return MOSQ_ERR_ACL_DENIED;
}

static void kick(void *ctx, const char *user)
{
  (void)ctx;
  mosquitto_log_printf(MOSQ_LOG_NOTICE,
                       "ovms_auth: user '%s' changed in the database: disconnecting its clients",
                       user);
  mosquitto_kick_client_by_username(user, false);
}

static int on_tick(int event, void *event_data, void *userdata)
{
  struct plugin *p = userdata;
  if (auth_poll(p->auth, auth_now()) < 0)
    mosquitto_log_printf(MOSQ_LOG_WARNING, "ovms_auth: polling user changes failed");
  auth_take_revoked(p->auth, kick, NULL);
  return MOSQ_ERR_SUCCESS;
}

PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
  for (int i = 0; i < supported_version_count; i++)
    if (supported_versions[i] == 5)
      return 5;
  return -1;
}

static int number(const char *key, const char *value, double min, double max, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(value, &end);
  if (end == value || *end || errno || v < min || v > max) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "ovms_auth: plugin_opt_%s '%s': want a number in %g..%g",
                         key, value, min, max);
    return -EINVAL;
  }
  *out = v;
  return 0;
}

/* The numeric plugin_opt_ keys, in the order of the switch in mosquitto_plugin_init(). */
static const struct {
  const char *key;
  double min, max;
} numeric[] = {
    {"iterations", PWHASH_MIN_ITERATIONS, PWHASH_MAX_ITERATIONS},
    {"cache_ttl", 0, 86400},
    {"poll_interval", 0, 5},
    {"fail_user", 0, 1e6},
    {"fail_addr", 0, 1e6},
    {"fail_window", 0, 86400},
};

PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
  struct auth_config c;
  auth_config_defaults(&c);
  for (int i = 0; i < option_count; i++) {
    const char *k = options[i].key, *val = options[i].value ? options[i].value : "";
    if (strcmp(k, "database") == 0) {
      c.database = val;
      continue;
    }
    size_t o = 0;
    while (o < ARRAY_SIZE(numeric) && strcmp(numeric[o].key, k) != 0)
      o++;
    if (o == ARRAY_SIZE(numeric)) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "ovms_auth: unknown option plugin_opt_%s", k);
      return MOSQ_ERR_INVAL;
    }
    double v;
    if (number(k, val, numeric[o].min, numeric[o].max, &v) < 0)
      return MOSQ_ERR_INVAL;
    switch (o) {
    case 0:
      c.iterations = (unsigned)v;
      break;
    case 1:
      c.cache_ttl = v;
      break;
    case 2:
      c.poll_interval = v;
      break;
    case 3:
      c.fail_user = (unsigned)v;
      break;
    case 4:
      c.fail_addr = (unsigned)v;
      break;
    default:
      c.fail_window = v;
      break;
    }
  }
  if (!c.database) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "ovms_auth: plugin_opt_database is required "
                                       "(sqlite:PATH or postgresql://...)");
    return MOSQ_ERR_INVAL;
  }
  struct plugin *p = calloc(1, sizeof(*p));
  if (!p)
    return MOSQ_ERR_NOMEM;
  char err[300];
  p->auth = auth_new(&c, err, sizeof(err));
  if (!p->auth) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "ovms_auth: cannot open the user database: %s", err);
    free(p);
    return MOSQ_ERR_UNKNOWN;
  }
  p->id = identifier;
  *userdata = p;
  if (mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, p) ||
      mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, p) ||
      mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, NULL, p)) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "ovms_auth: cannot register the callbacks");
    return MOSQ_ERR_UNKNOWN;
  }
  mosquitto_log_printf(MOSQ_LOG_INFO, "ovms_auth: users from %s database, poll %g s, cache %g s",
                       strncmp(c.database, "sqlite:", 7) == 0 ? "an SQLite" : "a PostgreSQL",
                       c.poll_interval, c.cache_ttl);
  return MOSQ_ERR_SUCCESS;
}

PLUGIN_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
  struct plugin *p = userdata;
  if (!p)
    return MOSQ_ERR_SUCCESS;
  mosquitto_callback_unregister(p->id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
  mosquitto_callback_unregister(p->id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
  mosquitto_callback_unregister(p->id, MOSQ_EVT_TICK, on_tick, NULL);
  auth_free(p->auth);
  free(p);
  return MOSQ_ERR_SUCCESS;
}
