/*
 * stat.h - the vehicle framework's status text: the output of the `stat` command
 * (OvmsVehicle::CommandStat in components/vehicle/vehicle.cpp), which the shell prints and
 * the charge notifications carry (vehicle/notify.c, as OvmsVehicle::NotifyChargeStart() and
 * its siblings send CommandStat's output), and the user's display units it is written in.
 */
#ifndef SIM_VEHICLE_STAT_H
#define SIM_VEHICLE_STAT_H

#include <stdbool.h>

#include "model/units.h"

struct sim;
struct sbuf;

/* True when a vehicle module is selected (sim->vehicle, or sim->control: a scenario or an
 * emulation acting as one); otherwise appends the firmware's "Error: No vehicle module
 * selected" line to out and returns false. */
bool vehicle_selected(struct sim *sim, struct sbuf *out);

/* Appends the `stat` text: the charge state (mode - state, voltage/current, times to full and
 * to the limits, energy drawn and charged) or "Not charging", then SOC, ranges, ODO, CAC and
 * SOH, in the user's units.  Without a vehicle module, the vehicle_selected() error line. */
void vehicle_stat_text(struct sim *sim, struct sbuf *out);

/* The user's display unit for a value in unit native: config "vehicle units.<group>"
 * (units.distance K/M also selects kph/mph), native when unset or of another group. */
enum sim_unit vehicle_user_unit(struct sim *sim, enum sim_unit native);

/* The value of the metric called name as a string (STRING metrics; "" otherwise) or a number;
 * "" / 0 when sim has no such metric. */
const char *vehicle_metric_str(struct sim *sim, const char *name);
double vehicle_metric_float(struct sim *sim, const char *name);

#endif
