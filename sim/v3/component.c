/*
 * component.c - what Server V3 registers with the rest of the module (v3_register()), as
 * OvmsServerV3Init does at boot in V3/components/ovms_server_v3/src/ovms_server_v3.cpp
 * (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff): its configuration keys, declared
 * in every module context from its creation on (a config file may set them before V3 starts;
 * sim_on_new() keeps the model free of V3), and the `server v3 start|stop|status|update`
 * commands under the shell's `server` (shell_register(), as the firmware's
 * cmd_server->RegisterCommand("v3", ...)), with the texts of its ovmsv3_start, ovmsv3_stop,
 * ovmsv3_status and ovmsv3_update.
 */
#include "core/error.h"
#include "model/sim.h"
#include "shell/shell.h"
#include "v3/v3.h"

static void puts_line(struct sbuf *out, const char *s)
{
  sbuf_adds(out, s);
  sbuf_addc(out, '\n');
}

static void c_v3_status(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                        char **argv)
{
  v3_status_text(sim->v3, out);
}

static void c_v3_start(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                       char **argv)
{
  if (sim->v3 && !v3_stopped(sim->v3)) {
    puts_line(out, "OVMS v3 server has already been started");
    return;
  }
  puts_line(out, "Launching OVMS Server V3 connection (oscv3)");
  if (sim->v3)
    v3_shell_start(sim->v3);
  else
    v3_start(sim, NULL, NULL);
}

static void c_v3_stop(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                      char **argv)
{
  if (v3_stopped(sim->v3)) {
    puts_line(out, "OVMS v3 server has not been started");
    return;
  }
  puts_line(out, "Stopping OVMS Server V3 connection (oscv3)");
  v3_shell_stop(sim->v3);
}

static void c_v3_update(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                        char **argv)
{
  const char *what = argc > 0 ? argv[0] : "modified";
  if (v3_stopped(sim->v3)) {
    puts_line(out, "ERROR: OVMS v3 server has not been started");
    return;
  }
  if (v3_request_update(sim->v3, what) < 0) {
    sbuf_printf(out, "Usage: server v3 update [all|modified%s]\n",
                sim->profile->batching ? "|priority" : "");
    return;
  }
  sbuf_printf(out, "Server V3 data update for %s metrics has been scheduled\n", what);
}

static const struct shell_cmd v3_children[] = {
  {"start", "Start an OVMS V3 Server Connection", c_v3_start, "", 0, 0, NULL},
  {"status", "Show OVMS V3 Server connection status", c_v3_status, "", 0, 0, NULL},
  {"stop", "Stop an OVMS V3 Server Connection", c_v3_stop, "", 0, 0, NULL},
  {"update", "Request OVMS V3 Server data update", c_v3_update, "[all|modified|priority]", 0, 1,
   NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct shell_cmd v3_command = {"v3", "OVMS Server V3 Protocol", c_v3_status, "[$C]",
                                            0, 0, v3_children};

static void declare_keys(struct sim *sim)
{
  v3_config_declare(sim->config);
}

int v3_register(void)
{
  int rc = sim_on_new(declare_keys);
  if (rc == 0)
    rc = shell_register("server", &v3_command);
  return rc;
}
