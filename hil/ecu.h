/*
 * ecu.h - one simulated control unit answering diagnostic requests (UDS ISO 14229, OBD-II SAE
 * J1979, KWP-style "read by local id") over ISO-TP on a simulator bus.
 *
 * A struct hil_ecu owns an ISO-TP link (hil/isotp.h) for its request id -> reply id and answers
 * whoever sends to that id: the module under test on a real bus, the simulator's own poller on
 * an in-memory bus, an ELM327 emulator or a socketcand/GVRET server bridging a remote tester.
 * The services every ECU has are answered here (hil_ecu_dispatch()):
 *
 *  0x10 DiagnosticSessionControl  sub-functions 1 (default), 2 (programming), 3 (extended):
 *                                 50 ss 00 32 01 F4 (P2 = 50 ms, P2* = 5000 ms); other
 *                                 sub-functions NRC 0x12, wrong length NRC 0x13
 *  0x3E TesterPresent             sub-function 0: 7E 00; 0x80 (suppress): no answer
 *  0x27, 0x2E, 0x31               NRC 0x7F (not in the default session), NRC 0x11 otherwise
 *                                 (security access, writing and routines are not simulated)
 *  0x22 ReadDataByIdentifier      one or more 16-bit DIDs; wrong length NRC 0x13, no DID known
 *                                 NRC 0x31, reply longer than 4095 bytes NRC 0x14
 *  anything else                  the ECU's ops->read (data services: OBD modes 01/09, 0x21
 *                                 groups...), else NRC 0x11
 *
 * The suppress-positive-response bit (0x80 of a sub-function) is honoured, and NRC 0x11, 0x12
 * and 0x31 are not sent to functional (broadcast) requests (ISO 14229-1 7.5).
 *
 * Faults (for testing a poller's error paths; the scenario step `ecu:` sets them): silent (no
 * answer at all), slow (the answer after a delay), nrc (every request answered with one NRC),
 * pending (NRC 0x78 "response pending" n times, one per delay, then the answer).
 *
 * An ECU answers only while the car is awake (vehicle_ecus_awake()) unless always_awake is set;
 * requests to a sleeping ECU are counted and ignored, as a real car's are.
 */
#ifndef HIL_ECU_H
#define HIL_ECU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "hil/isotp.h"
#include "vehicle/fault.h"

struct sim;
struct sim_canbus;
struct hil_ecu;

/* Negative response codes used (ISO 14229-1 Annex A.1). */
enum {
  UDS_NRC_SNS = 0x11,    /* serviceNotSupported */
  UDS_NRC_SFNS = 0x12,   /* subFunctionNotSupported */
  UDS_NRC_IMLOIF = 0x13, /* incorrectMessageLengthOrInvalidFormat */
  UDS_NRC_RTL = 0x14,    /* responseTooLong */
  UDS_NRC_ROOR = 0x31,   /* requestOutOfRange */
  UDS_NRC_RCRRP = 0x78,  /* requestCorrectlyReceived-ResponsePending */
  UDS_NRC_SNSIAS = 0x7F, /* serviceNotSupportedInActiveSession */
};


/*
 * What an ECU adds to the common services.  read(e, req, len, functional, resp, cap, nrc):
 * answers a data request (req[0] = service) into resp; returns the reply length (0 = no
 * answer), or 0 with *nrc set for a negative answer.  May be NULL (every other service is
 * NRC 0x11).
 */
struct hil_ecu_ops {
  size_t (*read)(struct hil_ecu *e, const uint8_t *req, size_t len, bool functional,
                 uint8_t *resp, size_t cap, uint8_t *nrc);
};

struct hil_ecu_stats {
  unsigned long requests;   /* complete requests received */
  unsigned long answers;    /* positive answers sent */
  unsigned long negatives;  /* negative answers sent (0x78 included) */
  unsigned long asleep;     /* requests ignored while the car sleeps */
  unsigned long silent;     /* requests ignored by a fault or unanswered (suppressed) */
  unsigned long busy;       /* requests dropped: the previous answer was still being sent */
};

struct hil_ecu {
  char name[24];               /* "bms", "vcm", "obd", "7e0"... */
  struct isotp_link link;
  struct sim *sim;             /* borrowed */
  struct sim_canbus *bus;      /* borrowed: where the answers go */
  const struct hil_ecu_ops *ops;
  void *data;                  /* for ops */
  uint8_t session;             /* 1 default, 2 programming, 3 extended */
  bool always_awake;
  bool no_uds;                 /* without the UDS services: 0x10, 0x3E, 0x27, 0x2E and 0x31
                                * go to ops->read (NRC 0x11 there), as a KWP-style ECU that
                                * has only its data services */
  struct ecu_fault fault;
  struct hil_ecu_stats stats;
  struct sim_timer timer;      /* delayed answers (SLOW, PENDING) */
  uint8_t pending_left;
  uint8_t pending_svc;
  uint8_t reply[ISOTP_MAX_LEN];
  size_t reply_len;
};

/*
 * Initialises e: answers requests on cfg->rx_id (and cfg->rx_func_id) with replies on
 * cfg->tx_id, sent on bus (borrowed); sim borrowed (metrics, loop, vehicle).  name is copied
 * (truncated).  Returns 0 or the isotp_link_init() error.
 */
int hil_ecu_init(struct hil_ecu *e, struct sim *sim, struct sim_canbus *bus, const char *name,
                 const struct isotp_config *cfg, const struct hil_ecu_ops *ops, void *data);
void hil_ecu_cleanup(struct hil_ecu *e);

/* Offers a frame received on e's bus.  Returns 1 when it was on e's ids. */
int hil_ecu_input(struct hil_ecu *e, const struct sim_frame *f);

/*
 * The answer to req as the ECU gives it without faults: the common services above, then
 * e->ops->read.  Writes the positive or negative answer to resp and returns its length, 0 for
 * no answer.  May change e->session.  Pure apart from that (no I/O).
 */
size_t hil_ecu_dispatch(struct hil_ecu *e, const uint8_t *req, size_t len, bool functional,
                        uint8_t *resp, size_t cap);

/* Sets (kind NONE: clears) the fault. */
void hil_ecu_set_fault(struct hil_ecu *e, const struct ecu_fault *f);


/* The generic OBD-II data services (hil/obd.c): mode 01 (PID bitmaps 00/20/40 and the PIDs
 * listed there) and mode 09 (00, 02 VIN, 0A ECU name), from the current metrics. */
extern const struct hil_ecu_ops hil_obd_ops;

#endif
