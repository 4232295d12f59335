/* simenv.c - a simulator on the virtual clock for unit tests (simenv.h). */
#include "simenv.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "model/config.h"
#include "notify/queue.h"
#include "v3/v3.h"
#include "vehicle/housekeeping.h"

#define TEST_SIM_START INT64_C(1717228800) /* 2024-06-01 08:00:00 UTC */

void test_sim_new(struct test_sim *e)
{
  e->ev = ev_loop_new(EVFLAG_AUTO);
  e->loop = sim_loop_new(e->ev, SIM_CLOCK_FAST, 1.0, TEST_SIM_START * SIM_NS_PER_SEC);
  e->sim = sim_new(e->loop, NULL, 1);
}

void test_sim_free(struct test_sim *e)
{
  sim_free(e->sim);
  sim_loop_free(e->loop);
  ev_loop_destroy(e->ev);
}

int test_v3_car(struct test_sim *e, const char *id, const char *state_dir, int port)
{
  e->ev = ev_loop_new(EVFLAG_AUTO);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  e->loop = sim_loop_new(e->ev, SIM_CLOCK_REAL, 30.0, ts.tv_sec * SIM_NS_PER_SEC);
  e->sim = sim_new(e->loop, NULL, (uint64_t)getpid());
  v3_config_declare(e->sim->config);
  sim_config_set(e->sim->config, "vehicle", "id", id, NULL);
  if (sim_notify_open(e->sim, state_dir, NULL) < 0)
    return 3;
  housekeeping_start(e->sim);
  char url[64];
  snprintf(url, sizeof(url), "mqtt://alice@127.0.0.1:%d", port);
  struct v3_options o = {.broker = url};
  if (v3_start(e->sim, &o, NULL) < 0)
    return 4;
  return 0;
}
