/*
 * fuzz_vehicles.c - libFuzzer target for the vehicle decoders: the input is a sequence of
 * frames (1 byte bus, 2 bytes id, 1 byte length, up to 8 data bytes) fed to every built-in
 * vehicle, with a ticker second every 64 frames.  Nothing may crash, read out of bounds or
 * leak; the encoders then run on whatever state resulted.
 */
#include <ev.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "core/array.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const struct sim_frame *f)
{
  (void)ctx;
  if (f->len > SIM_CAN_MAX_DLEN)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const names[] = {"nissanleaf", "teslaroadster", "mitsubishi"};
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, 0);
  for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
    struct sim *sim = sim_new(loop, NULL, 1);
    struct vehicle_opts o = {VEHICLE_F_NOTICKER | (k == 0 ? VEHICLE_F_ANYBUS : 0), NULL};
    if (vehicle_attach_opts(sim, names[k], &o, NULL) < 0)
      abort();
    struct vehicle *v = sim->vehicle;
    size_t pos = 0, n = 0;
    while (pos + 4 <= size) {
      struct sim_frame f;
      memset(&f, 0, sizeof f);
      f.bus = data[pos] % 4;
      f.id = (uint32_t)((data[pos + 1] << 8) | data[pos + 2]) & 0x7FF;
      f.len = data[pos + 3] % 9;
      pos += 4;
      size_t take = f.len < size - pos ? f.len : size - pos;
      memcpy(f.data, data + pos, take);
      pos += take;
      f.ts = (int64_t)n * 10000000;
      vehicle_decode(v, &f);
      if (++n % 64 == 0)
        vehicle_tick(v);
    }
    vehicle_encode_all(v, sink, NULL);
    sim_free(sim);
  }
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  return 0;
}
