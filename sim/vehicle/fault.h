/*
 * fault.h - how a simulated ECU misbehaves, for testing a poller's error paths: the faults
 * of the bench car's control units (hil/ecu.h) and the scenario step `ecu:` that sets them
 * (docs/scenarios.md).  Here, below both, so that a scenario is checked when it is loaded.
 *
 *   ok / normal         answers as usual
 *   silent              no answer at all
 *   slow[:MS]           the answer after MS ms (default 2000, at most 600000)
 *   nrc:HEX             every request answered with negative response code HEX (01-FF)
 *   pending[:N[:MS]]    N x NRC 0x78 "response pending", one every MS ms, then the answer
 *                       (default 3 x 200 ms)
 */
#ifndef SIM_VEHICLE_FAULT_H
#define SIM_VEHICLE_FAULT_H

#include <stdint.h>

enum ecu_fault_kind { ECU_FAULT_NONE, ECU_FAULT_SILENT, ECU_FAULT_SLOW, ECU_FAULT_NRC,
                      ECU_FAULT_PENDING };

struct ecu_fault {
  enum ecu_fault_kind kind;
  int64_t delay_ns;      /* SLOW: before the answer; PENDING: between the 0x78 answers */
  uint8_t nrc;           /* NRC: the code */
  uint8_t pending;       /* PENDING: how many 0x78 before the answer */
};

/*
 * Parses a fault: "ok", "silent", "slow[:MS]" (default 2000), "nrc:HEX" (e.g. nrc:22),
 * "pending[:N[:MS]]" (default 3 x 200 ms).  Returns 0 or SIM_EPARSE.
 */
int ecu_fault_parse(const char *s, struct ecu_fault *f);

/* The grammar above in one line, for error messages. */
#define ECU_FAULT_GRAMMAR "ok, silent, slow[:MS], nrc:HEX, pending[:N[:MS]]"

#endif
