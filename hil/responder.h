/*
 * responder.h - the simulated car's control units on the simulator's buses: the vehicle's own
 * ECUs (one per request id of its poll list, vehicle/poll.h, answering with the entries'
 * encoders: the Leaf's BMS 0x79B and VCM 0x797, the i-MiEV's BMU 0x761, OBC 0x765, HVAC 0x771
 * and meter 0x782) and a generic OBD-II ECU (0x7DF / 0x7E0 -> 0x7E8, hil/obd.c).
 *
 * The set watches every bus it has an ECU on through a bus monitor (the vehicle decoder keeps
 * the receive callback), so it answers any node on the bus: a module on a real bus, the
 * simulator's own poller or another component on an in-memory bus (mem:NAME), an ELM327 or
 * socketcand/GVRET emulator.  Replies are padded with 0xFF (as the Leaf's BMS does in
 * tests/data/hil/env200-bms-volt-poll.crtd) for the vehicle's ECUs and 0xAA for the OBD-II
 * ECU.  Answers come only while the car is awake unless always_awake (see hil/ecu.h).
 */
#ifndef HIL_RESPONDER_H
#define HIL_RESPONDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hil/ecu.h"

struct sim;

/* Default VIN of a simulated car whose v.vin is not set (17 characters). */
#define HIL_DEFAULT_VIN "OVMSSIMVIN0000001"

struct hil_responder_opts {
  bool vehicle;        /* the vehicle's own ECUs */
  bool obd;            /* the generic OBD-II ECU */
  uint8_t obd_bus;     /* its bus (0 = 1) */
  bool always_awake;   /* answer while the car sleeps too */
};

struct hil_responders {
  struct sim *sim;         /* borrowed */
  struct hil_ecu *ecus;    /* owned array */
  size_t n;
  uint8_t monitored;       /* bit n-1: a monitor is attached to bus n */
};

/*
 * Creates the ECUs o asks for on sim's buses (sim->buses; ECUs whose bus does not exist are
 * left out) and starts answering.  Sets v.vin to HIL_DEFAULT_VIN when it is not set.  Returns 0
 * and *out (owned by the caller, freed with hil_responders_free()), or SIM_ELIMIT when a bus
 * has no free monitor slot.  A set without any ECU is valid.
 */
int hil_responders_new(struct hil_responders **out, struct sim *sim,
                       const struct hil_responder_opts *o);
/* Detaches from the buses and frees r (NULL allowed). */
void hil_responders_free(struct hil_responders *r);

/* The ECU called name ("obd", or the request id in hex: "79b", "761"), or NULL. */
struct hil_ecu *hil_responders_find(struct hil_responders *r, const char *name);

#endif
