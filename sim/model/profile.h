/*
 * profile.h - firmware versions whose Server V3 behaviour differs (V3/components/ovms_server_v3/
 * src/ovms_server_v3.cpp at tags 3.3.004, 3.3.005, 3.3.006 and master; docs/protocol.md).
 *
 * The differences are data: one row per version in profile.c, read by the modules that
 * behave differently (config defaults, payload formats, topics, subscriptions).  The default
 * is SIM_FW_CURRENT (HEAD); --firmware selects another.
 */
#ifndef SIM_PROFILE_H
#define SIM_PROFILE_H

#include <stdbool.h>

enum sim_fw { SIM_FW_3_3_004, SIM_FW_3_3_005, SIM_FW_3_3_006, SIM_FW_CURRENT };

enum sim_topics { SIM_TOPICS_CURRENT, SIM_TOPICS_DRAFT2018 };

struct sim_profile {
  const char *name;            /* "3.3.004", ..., "current" */
  enum sim_fw fw;
  unsigned keepalive;          /* default updatetime.keepalive */
  unsigned connected, on, charging, awake, sendall; /* default updatetime.* */
  bool sched_minimum;          /* <=3.3.005: next = minimum of the enabled intervals */
  bool batching;               /* queue.sendall / queue.modified, priority, immediately */
  bool event_triggered_tx;     /* EventListener transmissions */
  bool event_path_topic;       /* also <prefix>event/<path> */
  bool events_skip_clock;      /* clock.* not published */
  bool notify_subtype_slashes; /* subtype dots -> '/' in notify topics */
  bool notify_mp_encode;       /* info/alert/error payload mp_encode'd */
  unsigned notify_size_limit;  /* notifications longer than this never reach V3 */
  bool request_subscriptions;  /* subscribe request/metric and request/config */
  bool clientid_config;        /* server.v3 clientid honoured */
  bool omit_empty_credentials; /* empty user/password left out of CONNECT */
  bool latlon_g;               /* lat/lon with %g */
  bool msgid_skip_zero;        /* message id wraps skipping 0 */
  bool modified_sends_cleared; /* modified sync publishes cleared metrics as empty */
  bool sendall_skips_empty;    /* full sync skips empty strings */
  bool auth_suspend;           /* CONNACK refusal suspends reconnects */
  unsigned refused_retry;      /* s, CONNACK refusal retry when not suspended */
  unsigned connfail_retry;     /* s, TCP connect failure */
  unsigned closed_retry;       /* s, unexpected close */
  bool conn_jitter;            /* conn.stable_wait / conn.jitter.max honoured */
  const char *const *absent_metrics; /* standard metrics the version lacks, NULL-terminated */
};

/* The profile of fw (never NULL). */
const struct sim_profile *sim_profile_get(enum sim_fw fw);
/* Looks a profile up by name ("3.3.004", "3.3.005", "3.3.006", "current"; "head" too).
 * Returns NULL if unknown. */
const struct sim_profile *sim_profile_find(const char *name);
/* Names accepted by sim_profile_find(), "|"-separated, for --help. */
const char *sim_profile_names(void);

#endif
