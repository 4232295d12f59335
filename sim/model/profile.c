/*
 * profile.c - the version table (V3/components/ovms_server_v3/src/ovms_server_v3.cpp at the
 * firmware tags 3.3.004, 3.3.005, 3.3.006 and master 1aa1daff, and changes.txt): the defaults
 * of the server.v3 updatetime.* keys, the payload and topic switches, and the reconnect
 * timings of OvmsServerV3's connection handling (docs/protocol.md lists what is checked).
 */
#include "model/profile.h"

#include <string.h>

#include "core/array.h"

/* Standard metrics of HEAD that OvmsMetricsStandard() (V3/main/metrics_standard.cpp) does not
 * create at tag 3.3.004; 3.3.005 has all 198. */
static const char *const absent_3_3_004[] = {"m.net.connected", "m.net.good.sq", "m.net.ip",
                                             "v.b.capacity",    "v.c.timestamp", "v.g.timestamp",
                                             NULL};

static const struct sim_profile profiles[] = {
  /* 3.3.004 and 3.3.005 differ in the keepalive, the event topics, the notification
   * encoding, the latlon format and the metrics set; the rest is PROFILE_3_3_00X. */
#define PROFILE_3_3_00X                                                                    \
  .connected = 60, .on = 600, .charging = 600, .awake = 600, .sendall = 0,                \
  .sched_minimum = true, .batching = false, .event_triggered_tx = false,                  \
  .notify_size_limit = 1024, .msgid_skip_zero = false,                                    \
  .request_subscriptions = false, .clientid_config = false, .omit_empty_credentials = false, \
  .modified_sends_cleared = true, .sendall_skips_empty = true,                            \
  .auth_suspend = false, .refused_retry = 60, .connfail_retry = 60, .closed_retry = 60,   \
  .conn_jitter = false
  [SIM_FW_3_3_004] = {
    .name = "3.3.004", .fw = SIM_FW_3_3_004, .keepalive = 60, PROFILE_3_3_00X,
    .event_path_topic = false, .events_skip_clock = false,
    .notify_subtype_slashes = false, .notify_mp_encode = true,
    .latlon_g = true, .absent_metrics = absent_3_3_004,
  },
  [SIM_FW_3_3_005] = {
    .name = "3.3.005", .fw = SIM_FW_3_3_005, .keepalive = 1740, PROFILE_3_3_00X,
    .event_path_topic = true, .events_skip_clock = true,
    .notify_subtype_slashes = true, .notify_mp_encode = false,
    .latlon_g = false,
  },
#undef PROFILE_3_3_00X
  /* 3.3.006 is master minus the auth-failure changes (the CONNACK refusal handling of
   * ovms_server_v3.cpp after tag 3.3.006). */
#define PROFILE_3_3_006(NAME, FW, AUTH_SUSPEND, REFUSED_RETRY)                             \
  {                                                                                       \
    .name = NAME, .fw = FW, .keepalive = 1740,                                            \
    .connected = 10, .on = 5, .charging = 10, .awake = 60, .sendall = 1200,               \
    .sched_minimum = false, .batching = true, .event_triggered_tx = true,                 \
    .event_path_topic = true, .events_skip_clock = true,                                  \
    .notify_subtype_slashes = true, .notify_mp_encode = false, .notify_size_limit = 65535, \
    .request_subscriptions = true, .clientid_config = true, .omit_empty_credentials = true, \
    .latlon_g = false, .msgid_skip_zero = true,                                          \
    .modified_sends_cleared = false, .sendall_skips_empty = false,                        \
    .auth_suspend = AUTH_SUSPEND, .refused_retry = REFUSED_RETRY, .connfail_retry = 30,   \
    .closed_retry = 60, .conn_jitter = true,                                              \
  }
  [SIM_FW_3_3_006] = PROFILE_3_3_006("3.3.006", SIM_FW_3_3_006, false, 30),
  [SIM_FW_CURRENT] = PROFILE_3_3_006("current", SIM_FW_CURRENT, true, 0),
#undef PROFILE_3_3_006
};

const struct sim_profile *sim_profile_get(enum sim_fw fw)
{
  if ((unsigned)fw >= ARRAY_SIZE(profiles))
    fw = SIM_FW_CURRENT;
  return &profiles[fw];
}

const struct sim_profile *sim_profile_find(const char *name)
{
  if (!strcmp(name, "head"))
    return &profiles[SIM_FW_CURRENT];
  for (size_t i = 0; i < ARRAY_SIZE(profiles); i++)
    if (!strcmp(profiles[i].name, name))
      return &profiles[i];
  return NULL;
}

const char *sim_profile_names(void)
{
  return "3.3.004|3.3.005|3.3.006|current";
}
