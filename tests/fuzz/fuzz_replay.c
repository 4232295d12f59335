/*
 * fuzz_replay.c - libFuzzer target for reactive replay (hil/replay.c): the input is a CRTD
 * trace; its exchanges are learnt, then the same frames arrive as live requests from a tester
 * on an in-memory bus and the loop runs, so the learnt answers are sent with ISO-TP (flow
 * control from the input's own FC frames).  Nothing may crash, leak or read out of bounds.
 */
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "can/bus.h"
#include "core/diag.h"
#include "core/loop.h"
#include "hil/replay.h"
#include "model/sim.h"
#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stop_cb(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char path[64];
  if (!path[0])
    snprintf(path, sizeof path, "/tmp/fuzz_replay.%d.crtd", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, 0);
  struct sim *sim = sim_new(loop, NULL, 1);
  struct sim_canbus *car[2], *tester[2];
  struct sim_diag d = SIM_DIAG_INIT;
  for (int b = 0; b < 2; b++) {
    char spec[32];
    snprintf(spec, sizeof spec, "mem:fuzz-replay-%d", b + 1);
    if (can_bus_new(&car[b], loop, spec, (uint8_t)(b + 1), &d) ||
        can_bus_new(&tester[b], loop, spec, (uint8_t)(b + 1), &d))
      abort();
    can_bus_start(car[b]);
    can_bus_start(tester[b]);
    sim->buses[b] = car[b];
  }
  struct hil_replay *r = NULL;
  struct hil_replay_opts o = {"crtd"};
  if (hil_replay_new(&r, sim, path, &o, &d) == 0) {
    struct trace_reader *tr;
    struct trace_reader_opts ro = {.format = "crtd"};
    struct sim_timer stop;
    sim_timer_init(&stop, stop_cb, NULL);
    if (trace_reader_open(&tr, path, &ro, NULL) == 0) {
      struct sim_frame fr;
      int n = 0;
      while (trace_reader_next_frame(tr, &fr, NULL) == 1 && n++ < 2000) {
        fr.flags &= (uint16_t)~SIM_CAN_F_TX;
        can_bus_send(tester[fr.bus == 2 ? 1 : 0], &fr);
        sim_timer_start(loop, &stop, 5 * SIM_NS_PER_MS, 0);
        sim_loop_run(loop);
      }
      trace_reader_close(tr);
    }
    sim_timer_start(loop, &stop, 2 * SIM_NS_PER_SEC, 0);
    sim_loop_run(loop);
    sim_timer_stop(loop, &stop);
  }
  hil_replay_free(r);
  sim_diag_cleanup(&d);
  for (int b = 0; b < 2; b++)
    sim->buses[b] = NULL;
  sim_free(sim);
  for (int b = 0; b < 2; b++) {
    can_bus_close(car[b]);
    can_bus_close(tester[b]);
  }
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  unlink(path);
  return 0;
}
