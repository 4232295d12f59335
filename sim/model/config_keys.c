/*
 * config_keys.c - the built-in configuration keys (firmware names; "vehicle" keys from
 * V3/components/vehicle/vehicle.cpp and docs/source/userguide, "notify" from
 * V3/main/ovms_notify.cpp, "password" instances as the firmware's password store).
 * Components declare their own tables with sim_config_declare() (Server V3, vehicles).
 */
#include <stddef.h>

#include "core/array.h"
#include "model/config.h"

const struct sim_config_decl sim_config_builtin[] = {
  {"vehicle", "id", CFG_STRING, "DEMO", 0, 0, 0, 0, "vehicle id (topic prefix, MQTT client id)"},
  {"vehicle", "name", CFG_STRING, NULL, 0, 0, 0, 0, "vehicle name"},
  {"vehicle", "type", CFG_STRING, NULL, 0, 0, 0, 0, "vehicle type code (NL, TR, MI, ...)"},
  {"vehicle", "timezone", CFG_STRING, NULL, 0, 0, 0, 0,
   "POSIX TZ string for local dates (default GMT0)"},
  {"vehicle", "units.distance", CFG_STRING, "K", 0, 0, 0, 0, "K (km) or M (miles), shell only"},
  {"vehicle", "units.temp", CFG_STRING, "celcius", 0, 0, 0, 0, "shell display unit"},
  {"vehicle", "units.pressure", CFG_STRING, "kpa", 0, 0, 0, 0, "shell display unit"},
  {"vehicle", "units.power", CFG_STRING, "kw", 0, 0, 0, 0, "shell display unit"},
  {"vehicle", "units.energy", CFG_STRING, "kwh", 0, 0, 0, 0, "shell display unit"},
  {"vehicle", "units.consumption", CFG_STRING, "whpkm", 0, 0, 0, 0, "shell display unit"},
  {"vehicle", "stream", CFG_INT, "0", 0, 3600, 0, 0, "s, update interval when on (<=3.3.005)"},
  {"notify", "*", CFG_STRING, NULL, 0, 0, CFG_F_ANYINST, 0,
   "per-subtype channel filter (ovmsv2,ovmsv3 / *,-ovmsv3 / -)"},
  {"notify", "log.trip.storetime", CFG_INT, "0", 0, 3650, 0, 0, "days; >0 enables *-LOG-Trip"},
  {"notify", "log.grid.storetime", CFG_INT, "0", 0, 3650, 0, 0, "days; >0 enables *-LOG-Grid"},
  {"password", "*", CFG_STRING, NULL, 0, 0, CFG_F_ANYINST | CFG_F_SECRET, 0, "passwords"},
  {"module", "debug", CFG_BOOL, "no", 0, 0, 0, 0, "simulator: verbose log on stderr"},
};

const size_t sim_config_builtin_count = ARRAY_SIZE(sim_config_builtin);
