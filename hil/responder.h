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
#include "vehicle/poll.h"

struct sim;
struct sbuf;
struct vehicle;

/* Default VIN of a simulated car whose v.vin is not set (17 characters). */
#define HIL_DEFAULT_VIN "OVMSSIMVIN0000001"

struct hil_responder_opts {
  bool vehicle;        /* the vehicle's own ECUs */
  bool obd;            /* the generic OBD-II ECU */
  uint8_t obd_bus;     /* its bus (0 = 1) */
  bool always_awake;   /* answer while the car sleeps too */
  const char *only;    /* the vehicle's ECUs to create, by name, comma-separated ("bms,vcm";
                        * other words are skipped); NULL = all */
  bool no_uds;         /* the ECUs without the UDS services (hil_ecu.no_uds) */
};

/*
 * The name of the vehicle's ECU an entry of its poll list is sent to: the first word of the
 * entry's name in lower case ("BMS cell voltages" -> "bms"), at most cap - 1 characters.
 * The Leaf has bms and vcm, the i-MiEV bmu, obc, hvac and meter.
 */
void hil_ecu_name_of(const struct vehicle_poll *p, char *out, size_t cap);

/*
 * Parses a responder list (`--responders`): comma-separated names of the vehicle's ECUs
 * (hil_ecu_name_of()), `obd` (the generic OBD-II ECU), `uds` (the UDS services in every ECU),
 * `all` (all of these), or `none` alone.  Sets vehicle, obd, only and no_uds of o (only
 * borrows list).  Returns 0, or SIM_EPARSE with the reason in d (no file name: the caller
 * labels it), e.g. an ECU the vehicle v (may be NULL) does not have.
 */
struct sim_diag;
int hil_responders_parse(struct hil_responder_opts *o, const char *list,
                         const struct vehicle *v, struct sim_diag *d);

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
/* True when hil_responders_new() with o for vehicle v (may be NULL) makes an ECU called name
 * (hil_responders_find() names: "obd", "bms", or the request id in hex). */
bool hil_responders_would_have(const struct hil_responder_opts *o, const struct vehicle *v,
                               const char *name);

/* Detaches from the buses and frees r (NULL allowed). */
void hil_responders_free(struct hil_responders *r);

/* The ECU called name ("obd", "bms", or the request id in hex: "79b", "761"), or NULL. */
struct hil_ecu *hil_responders_find(struct hil_responders *r, const char *name);

/* One line per ECU for --stats: "responder bms (bus 1, 79b): N requests, N answers, ...". */
void hil_responders_report(const struct hil_responders *r, struct sbuf *b);

#endif
