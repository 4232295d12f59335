/*
 * test_shell.c - the command shell: microrl word splitting and quoting, unique-prefix
 * dispatch, the firmware's error and usage texts, "?" listings, multi-line input, and the
 * commands acting on the simulation through sim->control, metrics, config and events.
 */
#include "testutil.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/events.h"
#include "model/metrics.h"
#include "shell/shell.h"
#include "model/sim.h"
#include "v3/v3.h"

static struct ev_loop *ev;
static struct sim_loop *loop;
static struct sim *sim;
static struct sbuf out;

static const char *run(const char *cmd)
{
  sbuf_reset(&out);
  shell_execute(sim, cmd, strlen(cmd), &out);
  return sbuf_str(&out);
}

static int locked, climate_on, charging;
static char last_pin[32];

static int c_lock(void *ctx, const char *pin)
{
  snprintf(last_pin, sizeof(last_pin), "%s", pin);
  if (strcmp(pin, "1234"))
    return SIM_ERANGE;
  locked = 1;
  return 0;
}

static int c_climate(void *ctx, int on)
{
  climate_on = on;
  return 0;
}

static int c_charge_stop(void *ctx)
{
  charging = 0;
  return 0;
}

static const struct sim_control_ops ctl = {
  .charge_stop = c_charge_stop, .climate = c_climate, .lock = c_lock,
};

static int setup(void **state)
{
  ev = ev_loop_new(EVFLAG_AUTO);
  loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
  v3_register(); /* server.v3.* keys and the `server v3` commands, as the program does */
  sim = sim_new(loop, NULL, 1);
  sim->control = &ctl;
  return 0;
}

static int teardown(void **state)
{
  sbuf_free(&out);
  sim_free(sim);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  return 0;
}

static void test_split(void **state)
{
  char buf[] = "  notify raise text info usr.x 'hello, world' \"a 'b'\"  ";
  char *w[8];
  assert_int_equal(shell_split(buf, w, 8), 7);
  assert_string_equal(w[5], "hello, world");
  assert_string_equal(w[6], "a 'b'");
  /* split() of V3/components/microrl/microrl.c: an unclosed quote, a quote closed inside a
   * word, more than _QUOTED_TOKEN_NMB (10) quoted words and _COMMAND_TOKEN_NMB words or more
   * are refused; a quote inside a word is an ordinary character */
  char bad[] = "lock 'open";
  assert_int_equal(shell_split(bad, w, 8), -1);
  char inword[] = "lock \"12\"34";
  assert_int_equal(shell_split(inword, w, 8), -1);
  char mid[] = "lock 12\"34";
  assert_int_equal(shell_split(mid, w, 8), 2);
  assert_string_equal(w[1], "12\"34");
  char three[] = "a b c";
  assert_int_equal(shell_split(three, w, 4), 3);
  char four[] = "a b c d";
  assert_int_equal(shell_split(four, w, 4), -1);
  char *w16[16];
  char quoted[] = "'1' '2' '3' '4' '5' '6' '7' '8' '9' '10' '11'";
  assert_int_equal(shell_split(quoted, w16, 16), -1);
  char ten[] = "'1' '2' '3' '4' '5' '6' '7' '8' '9' '10' 11";
  assert_int_equal(shell_split(ten, w16, 16), 11);
}

/* new_line_handler() of V3/components/microrl/microrl.c prints "ERROR:too many tokens or
 * invalid quoting" through error_print, which the BufferedShell of a server V3 command
 * (OvmsServerV3::ProcessCommand) keeps even though it does not echo. */
static void test_quote_error(void **state)
{
  locked = 0;
  assert_string_equal(run("lock 'open"), "ERROR:too many tokens or invalid quoting\n");
  assert_string_equal(run("notify raise text info usr.x \"a\"b"),
                      "ERROR:too many tokens or invalid quoting\n");
  assert_int_equal(locked, 0);
}

/* There is no `config get`: ovms_config.cpp (OvmsConfig::OvmsConfig) registers list, set,
 * rm and, with CONFIG_OVMS_SC_ZIP, backup and restore under "config", which has no usage
 * template; OvmsCommand::Execute() (main/ovms_command.cpp) answers an unknown subcommand
 * "Unrecognised command" and PutUsage() ("$C" for a non-terminal command). */
static void test_no_config_get(void **state)
{
  assert_string_equal(run("config get server.v3 updatetime.idle"),
                      "Unrecognised command\nUsage: config backup|list|restore|rm|set\n");
  assert_string_equal(run("config"), "Subcommand required\nUsage: config backup|list|restore|rm|set\n");
  assert_string_equal(run("config backup /sd/x.zip"), "Error: config store not mounted\n");
  assert_string_equal(run("config r /sd/x.zip"), "Unrecognised command\n" /* restore or rm */
                                                 "Usage: config backup|list|restore|rm|set\n");
}

static void test_dispatch_texts(void **state)
{
  assert_string_equal(run("foo"), "Unrecognised command\n");
  assert_string_equal(run("c"), "Unrecognised command\n"); /* ambiguous prefix */
  assert_string_equal(run("loc"), "Unrecognised command\n"); /* location or lock */
  assert_string_equal(run("cl on"), "Climate Control \non\n");
  assert_int_equal(climate_on, 1);
  assert_string_equal(run("climatecontrol"),
                      "Subcommand required\nUsage: climatecontrol <off|on>\n");
  assert_string_equal(run("lock 1234"), "Vehicle locked\n");
  assert_int_equal(locked, 1);
  assert_string_equal(run("lock 9999"), "Error: vehicle could not be locked\n");
  assert_string_equal(run("lock \"12 34\""), "Error: vehicle could not be locked\n");
  assert_string_equal(last_pin, "12 34");
  assert_string_equal(run("lock 1 2"), "Usage: lock <pin>\n");
  assert_string_equal(run("lock ?"), "Usage: lock <pin>\n");
  assert_string_equal(run("unlock 1234"), "Error: Vehicle unlock functionality not available\n");
  assert_string_equal(run("charge stop"), "Charge has been stopped\n");
  assert_string_equal(run("charge mode range"), "Error: Charge mode functionality not available\n");
  assert_string_equal(run("charge current 16"),
                      "Error: Charge current limit functionality not available\n");
  assert_string_equal(run("wakeup"), "Error: Vehicle wake functionality not available\n");
  assert_string_equal(run("homelink 4"), "Error: Homelink button should be in range 1..3\n");
  assert_string_equal(run("event ?"), "raise                Raise a textual event\n");
  assert_string_equal(run("metrics get nope"), "\n");
  assert_string_equal(run("metrics list nope"), "Unrecognised metric name\n");
  assert_string_equal(run("metrics list v.b.range.est"), "v.b.range.est\n"); /* undefined */
  assert_string_equal(run("metrics list -x"), "Usage: metrics list [-cimnpst] [<metric>]\n");
  assert_string_equal(run("metrics set v.b.soc abc"), "Metric could not be set\n");
  assert_string_equal(run("metrics set v.b.soc 81.5"), "Metric set\n");
  assert_string_equal(run("metrics get v.b.soc"), "81.5%\n");
  assert_string_equal(run("metrics list -c v.b.soc"), "metrics set v.b.soc 81.5\n");
  assert_string_equal(run("metrics set v.p.odometer 10 miles"), "Metric set\n");
  assert_string_equal(run("metrics list v.p.odometer"),
                      "v.p.odometer                             16.0934km\n");
  assert_string_equal(run("metrics list -i v.p.odometer"),
                      "v.p.odometer                             10M\n");
  assert_string_equal(run("config set server.v3 updatetime.idle 300"), "Parameter has been set.\n");
  assert_string_equal(run("config list server.v3"),
                      "server.v3 (readable writeable)\n  updatetime.idle: 300\n");
  assert_string_equal(run("config set password server.v3 pw"), "Parameter has been set.\n");
  assert_string_equal(run("config list password"), "password (protected writeable)\n"
                                                   "  server.v3\n");
  assert_string_equal(run("config list nope"), "nope not found\n");
  assert_string_equal(run("config set nope x 1"), "Error: parameter not found\n");
  assert_string_equal(run("config rm server.v3 updatetime.idle"),
                      "Instance updatetime.idle has been removed.\n");
  assert_string_equal(run("config list server.v3"), "server.v3 (readable writeable)\n");
  assert_non_null(strstr(run("config list"), "server.v3            Server V3 (MQTT) configuration\n"));
  assert_string_equal(run("server v3 status"), "OVMS v3 server has not been started\n");
  assert_string_equal(run("server v3 update"), "ERROR: OVMS v3 server has not been started\n");
  assert_string_equal(run("server v3 stop"), "OVMS v3 server has not been started\n");
  assert_string_equal(run("help"), "This isn't really much help, is it?\n");
  assert_string_equal(run("vehicle status"),
                      "Vehicle module 'ovms-sim scenario' (code DEMO) loaded and running\n");
  assert_string_equal(run("metrics set v.p.latitude 51.5"), "Metric set\n");
  assert_string_equal(run("locat stat"), "Currently at 51.500000,0.000000 (without GPS lock)\n"
                                       "There are 0 locations defined\nNo active locations\n");
  /* several lines, outputs concatenated; blank lines run nothing */
  assert_string_equal(run("lock 1234\n\nfoo\n"), "Vehicle locked\nUnrecognised command\n");
  assert_string_equal(run(""), "");
}

static void test_limits(void **state)
{
  /* microrl: 800 characters per line; the rest of the line is lost */
  char line[1000];
  memset(line, 'x', sizeof(line));
  memcpy(line, "event raise ", 12);
  line[999] = '\0';
  const char *o = run(line);
  assert_int_equal(strlen(o), strlen("Raising event: \n") + 800 - 12);
}

static void test_notify_event(void **state)
{
  assert_string_equal(run("notify raise text info usr.test 'a b'"),
                      "Raise text notification for info/usr.test as a b\n");
  assert_string_equal(run("notify raise command info usr.cmd 'event raise usr.x'"),
                      "Raise command notification for info/usr.cmd as event raise usr.x\n");
  assert_string_equal(run("notify raise"),
                      "Subcommand required\nUsage: notify raise <command|data|errorcode|text>\n");
  assert_string_equal(run("event raise usr.x"), "Raising event: usr.x\n");
  assert_string_equal(run("event raise"), "Usage: event raise <event>\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_split),
    cmocka_unit_test(test_dispatch_texts),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_quote_error),
    cmocka_unit_test(test_no_config_get),
    cmocka_unit_test(test_notify_event),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
