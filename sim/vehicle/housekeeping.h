/*
 * housekeeping.h - what every module does regardless of its vehicle: the 1 Hz housekeeping of
 * V3/main/ovms_housekeeping.cpp (m.monotonic, m.time.utc, ticker.* and clock.* events, module
 * identity metrics) and the generic vehicle framework of V3/components/vehicle/vehicle.cpp
 * (events raised from metric changes, v.e.parktime / v.e.drivetime / v.c.time counters,
 * v.c.timestamp on charge stop).
 */
#ifndef SIM_HOUSEKEEPING_H
#define SIM_HOUSEKEEPING_H

struct sim;

/*
 * Sets the module identity metrics (m.version, m.hardware, m.serial, m.net.*), registers the
 * metric->event listeners and starts the 1 Hz ticker on the simulation clock, aligned to whole
 * seconds of simulation UTC time.  Stopped and freed with the sim.  Returns 0, or
 * SIM_ENOTFOUND when sim's registry lacks a standard metric (nothing is started then).
 */
int housekeeping_start(struct sim *sim);

#endif
