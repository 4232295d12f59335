/*
 * record.h - records what the simulated module sees and does, as a trace file.
 *
 * The recorder writes every frame in and out of the module's CAN buses (as bus monitors), every
 * event (CRTD CEV records) and every metric change (CRTD CMT records, value as JSON) with the
 * simulation time, in CRTD by default or any writable format chosen by the file's extension
 * (formats that cannot carry events or metrics keep the frames only).  In CRTD, failed sends
 * and bus errors (received error frames, can_bus_report_error) are written as the firmware
 * writes them: "<bus>CER TX_Fail T11 <ID> <bytes>" and "<bus>CER Error intr=.. rxpkt=.. ..."
 * with the bus's counters (canformat_crtd::get() in
 * vehicle/OVMS.V3/components/can/src/canformat_crtd.cpp).
 */
#ifndef SIM_TRACE_RECORD_H
#define SIM_TRACE_RECORD_H

#include "core/frame.h"
#include "core/diag.h"

struct sim;
struct sim_canbus;
struct trace_recorder;

/*
 * Starts recording sim (borrowed; the recorder must be closed before sim is freed, or attach
 * itself with sim_on_free) into path, in format (a name; NULL = by extension, CRTD when the
 * extension is unknown).  Attaches to the buses present in sim->buses now; more can be added
 * with trace_recorder_add_bus().  Returns 0 and sets *out, -errno or SIM_EFORMAT (d filled).
 */
int trace_recorder_open(struct trace_recorder **out, struct sim *sim, const char *path,
                        const char *format, struct sim_diag *d);
/* Also records a bus created later. */
int trace_recorder_add_bus(struct trace_recorder *r, struct sim_canbus *bus);
/* Records one frame directly (for sources that are not buses, e.g. a replay without bus). */
void trace_recorder_frame(struct trace_recorder *r, const struct sim_frame *f);
/* Number of records written and the first write error (0 if none). */
unsigned long trace_recorder_count(const struct trace_recorder *r);
int trace_recorder_error(const struct trace_recorder *r);
/* Detaches, writes the footer, closes.  Returns 0 or the first write error.  NULL allowed. */
int trace_recorder_close(struct trace_recorder *r);

#endif
