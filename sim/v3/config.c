/*
 * config.c - the configuration keys of Server V3 (docs/v3.md), declared in
 * one table with the firmware's names and HEAD defaults.  Defaults that differ between
 * firmware versions (updatetime.connected/on/charging/awake/sendall/keepalive) come from the
 * active profile (profile.c) through profile_default.  Sources: ConfigChanged(), Connect()
 * in V3/components/ovms_server_v3/src/ovms_server_v3.cpp and web_cfg_server_v3.cpp at
 * openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff.  "password server.v3", "vehicle
 * stream" and "notify <subtype>" are built-in keys (config_keys.c).
 */
#include <stddef.h>

#include "model/config.h"
#include "core/array.h"
#include "model/profile.h"
#include "v3/v3.h"

#define PD(field) ((int)offsetof(struct sim_profile, field) + 1)

/* One key a row, one line a row even where that is wider than 100 columns. */
static const struct sim_config_decl decls[] = {
  {"server.v3", "server", CFG_STRING, NULL, 0, 0, 0, 0, "MQTT broker host"},
  {"server.v3", "port", CFG_INT, NULL, 1, 65535, 0, 0, "broker port (1883, 8883 with TLS)"},
  {"server.v3", "tls", CFG_BOOL, "no", 0, 0, 0, 0, "connect with TLS"},
  {"server.v3", "user", CFG_STRING, "", 0, 0, 0, 0, "MQTT user name, part of the prefix"},
  {"server.v3", "clientid", CFG_STRING, NULL, 0, 0, 0, 0, "MQTT client id (vehicle id)"},
  {"server.v3", "topic.prefix", CFG_STRING, "", 0, 0, 0, 0, "topic prefix, verbatim (default ovms/<user>/<vehicle id>/)"},
  {"server.v3", "updatetime.idle", CFG_INT, "600", 1, 86400, 0, 0, "s, modified metrics idle"},
  {"server.v3", "updatetime.connected", CFG_INT, NULL, 1, 86400, 0, PD(connected), "s, while clients are present"},
  {"server.v3", "updatetime.on", CFG_INT, NULL, 1, 86400, 0, PD(on), "s, while v.e.on"},
  {"server.v3", "updatetime.charging", CFG_INT, NULL, 1, 86400, 0, PD(charging), "s, while v.c.charging"},
  {"server.v3", "updatetime.awake", CFG_INT, NULL, 1, 86400, 0, PD(awake), "s, while v.e.awake"},
  {"server.v3", "updatetime.sendall", CFG_INT, NULL, 0, 86400, 0, PD(sendall), "s, periodic full sync (0 = off)"},
  {"server.v3", "updatetime.keepalive", CFG_INT, NULL, 0, 65535, 0, PD(keepalive), "s, MQTT keep-alive"},
  {"server.v3", "updatetime.priority", CFG_BOOL, "no", 0, 0, 0, 0, "GPS/time priority path"},
  {"server.v3", "updatetime.immediately", CFG_BOOL, "no", 0, 0, 0, 0, "send changes at once"},
  {"server.v3", "events.legacy_topic", CFG_BOOL, "yes", 0, 0, 0, 0, "also publish <prefix>event"},
  {"server.v3", "retain.depth.limit", CFG_BOOL, "no", 0, 0, 0, 0, "no RETAIN on topics with more than 7 '/' (AWS IoT)"},
  {"server.v3", "metrics.include", CFG_STRING, "", 0, 0, 0, 0, "metrics to send (empty = all)"},
  {"server.v3", "metrics.exclude", CFG_STRING, "", 0, 0, 0, 0, "metrics never sent"},
  {"server.v3", "metrics.priority", CFG_STRING, "", 0, 0, 0, 0, "priority metrics"},
  {"server.v3", "metrics.include.immediately", CFG_STRING, "", 0, 0, 0, 0, "metrics sent on change (empty = all)"},
  {"server.v3", "metrics.exclude.immediately", CFG_STRING, "", 0, 0, 0, 0, "metrics never sent on change"},
  {"server.v3", "queue.sendall", CFG_INT, "100", 1, 100000, 0, 0, "full sync batch size"},
  {"server.v3", "queue.modified", CFG_INT, "150", 1, 100000, 0, 0, "modified sync batch size"},
  {"server.v3", "conn.stable_wait", CFG_INT, "10", 3, 3600, 0, 0, "s, network stable before connecting"},
  {"server.v3", "conn.jitter.max", CFG_INT, "5", 0, 3600, 0, 0, "s, random connect delay"},
  {"auto", "server.v3", CFG_BOOL, "no", 0, 0, 0, 0, "start Server V3 at boot"},
};

int v3_config_declare(struct sim_config *c)
{
  for (size_t i = 0; i < ARRAY_SIZE(decls); i++)
    if (!sim_config_find_decl(c, decls[i].param, decls[i].instance))
      sim_config_declare(c, &decls[i], 1);
  return 0;
}
