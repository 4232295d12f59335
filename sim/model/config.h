/*
 * config.h - the module configuration: (param, instance) -> value, as the firmware's
 * OvmsConfig ("config set server.v3 updatetime.idle 600").
 *
 * Every accepted key is declared in one table (config_keys.c; vehicles add their own with
 * sim_config_declare()), with its type, range and default.  Defaults that differ between
 * firmware versions come from the active profile.  On the command line and in config files a
 * key is written param.instance, e.g. server.v3.updatetime.idle; the longest declared param
 * that prefixes the key wins.  Precedence: declared default < config file < --set.
 */
#ifndef SIM_CONFIG_H
#define SIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/diag.h"
#include "model/profile.h"
#include "core/sbuf.h"

enum sim_config_type { CFG_STRING, CFG_INT, CFG_BOOL };

#define CFG_F_SECRET 0x01   /* never printed in logs (passwords) */
#define CFG_F_ANYINST 0x02  /* any instance name is valid (instance "*" in the table) */

struct sim_config_decl {
  const char *param;    /* "server.v3" */
  const char *instance; /* "updatetime.idle"; "*" with CFG_F_ANYINST */
  enum sim_config_type type;
  const char *def;      /* default as text; NULL = unset */
  long min, max;        /* CFG_INT range */
  unsigned flags;
  int profile_default;  /* >0: offset+1 into struct sim_profile of an unsigned default */
  const char *help;     /* one line for `config list` and docs */
};

struct sim_config;

/* The built-in declarations (config_keys.c). */
extern const struct sim_config_decl sim_config_builtin[];
extern const size_t sim_config_builtin_count;

/* Creates a configuration holding the built-in declarations; profile selects
 * version-dependent defaults (NULL = current).  Free with sim_config_free(). */
struct sim_config *sim_config_new(const struct sim_profile *profile);
void sim_config_free(struct sim_config *c);
void sim_config_set_profile(struct sim_config *c, const struct sim_profile *profile);
const struct sim_profile *sim_config_profile(const struct sim_config *c);

/* Declares more keys (vehicles).  decl must stay valid (static).  Returns 0. */
int sim_config_declare(struct sim_config *c, const struct sim_config_decl *decl, size_t n);

/*
 * Sets a value after checking it against its declaration.  On error one entry without
 * location ("unknown config key 'server.v3.foo'", "'abc' is not an integer for ...") is
 * recorded in d (may be NULL; sim_diag_last() gives its text).  Returns 0, SIM_ENOTFOUND for
 * an undeclared key, SIM_EPARSE for a value of the wrong type, SIM_ERANGE for one outside its
 * range.  Listeners of the param are called when the value changes.
 */
int sim_config_set(struct sim_config *c, const char *param, const char *instance,
                   const char *value, struct sim_diag *d);
/* The same with a dotted key "server.v3.updatetime.idle". */
int sim_config_set_key(struct sim_config *c, const char *key, const char *value,
                       struct sim_diag *d);
/* Removes a set value (back to the default).  Returns 0 or SIM_ENOTFOUND. */
int sim_config_unset(struct sim_config *c, const char *param, const char *instance);
/* Splits a dotted key into its declared param and instance.  Returns 0 or SIM_ENOTFOUND. */
int sim_config_split_key(const struct sim_config *c, const char *key, const char **param,
                         size_t *param_len, const char **instance);

/*
 * Loads a YAML config file: a mapping whose keys are either dotted keys
 * ("server.v3.updatetime.idle: 600") or params holding a mapping of instances
 * ("server.v3: {updatetime.idle: 600}").  Every error goes to d with file:line:col.
 * Returns 0 or SIM_EPARSE (or -errno when the file cannot be read).
 */
int sim_config_load_yaml(struct sim_config *c, const char *path, struct sim_diag *d);

/* The value (set or default), or NULL when neither. */
const char *sim_config_get(const struct sim_config *c, const char *param, const char *instance);
/* Typed getters; the declared default applies; an unset key without default gives def. */
long sim_config_get_int(const struct sim_config *c, const char *param, const char *instance,
                        long def);
bool sim_config_get_bool(const struct sim_config *c, const char *param, const char *instance,
                         bool def);
bool sim_config_is_set(const struct sim_config *c, const char *param, const char *instance);
/* false for a protected parameter, whose values are never given to a client: "password", as
 * RegisterParam("password", "Password store", true, false) in OvmsConfig::OvmsConfig()
 * (main/ovms_config.cpp) registers it writable but not readable. */
bool sim_config_param_readable(const char *param);
/* The declaration of a key, or NULL. */
const struct sim_config_decl *sim_config_find_decl(const struct sim_config *c,
                                                   const char *param, const char *instance);

typedef void (*sim_config_fn)(void *ctx, const char *param, const char *instance);
/* Calls fn after a value of param (exact; "*" = any) changes. */
int sim_config_listen(struct sim_config *c, const char *param, sim_config_fn fn, void *ctx);

/* Calls fn for every value that is set, in (param, instance) order. */
typedef void (*sim_config_iter_fn)(void *ctx, const char *param, const char *instance,
                                   const char *value, const struct sim_config_decl *decl);
void sim_config_foreach(const struct sim_config *c, sim_config_iter_fn fn, void *ctx);
/* Calls fn for every declaration, in table order (documentation, `config list -d`). */
void sim_config_foreach_decl(const struct sim_config *c,
                             void (*fn)(void *ctx, const struct sim_config_decl *d), void *ctx);

#endif
