/*
 * logs.h - the historical data records the vehicle framework raises as "data" notifications
 * (OvmsVehicle::NotifyGridLog() and NotifyTripLog(), components/vehicle/vehicle.cpp):
 * *-LOG-Grid (subtype log.grid) and *-LOG-Trip (log.trip).  Used by vehicle/notify.c.
 */
#ifndef SIM_VEHICLE_LOGS_H
#define SIM_VEHICLE_LOGS_H

struct sim;
struct sbuf;

/* Appends the record text (without raising it).  storetime_days > 0. */
void vehicle_grid_record(struct sim *sim, long storetime_days, struct sbuf *out);
void vehicle_trip_record(struct sim *sim, long storetime_days, struct sbuf *out);

/* NotifyGridLog()/NotifyTripLog(): raise the record if "notify log.grid.storetime" /
 * "notify log.trip.storetime" (days) is > 0. */
void vehicle_notify_grid_log(struct sim *sim);
void vehicle_notify_trip_log(struct sim *sim);

#endif
