/*
 * notify.h - the notifications the vehicle framework raises (components/vehicle/vehicle.cpp):
 * the charge-state notifications with the *-LOG-Grid record (OvmsVehicle::NotifyChargeState)
 * and the *-LOG-Trip record when the car is switched on or off (NotifyVehicleOn/Off).
 */
#ifndef SIM_VEHICLE_NOTIFY_H
#define SIM_VEHICLE_NOTIFY_H

struct sim;

/*
 * Arms the vehicle framework's notifications for sim (stopped and freed with the sim):
 *  - 3 s after a v.c.state change (GetNotifyChargeStateDelay), NotifyChargeState(): the
 *    vehicle_stat_text() goes out as info charge.done / charge.started / charge.toppingoff /
 *    heating.started, or charge.stopped (info for substate scheduledstop/timerwait/onrequest,
 *    alert otherwise), then the *-LOG-Grid record (vehicle_notify_grid_log());
 *  - on v.e.on changes the *-LOG-Trip record (vehicle_notify_trip_log()): always when switched
 *    on, when switched off after a trip of at least 0.2 km ("notify log.trip.minlength").
 * housekeeping_start() calls it.  The notification queue is opened (memory only) on the
 * first raise if sim_notify_open() was not called.  Returns 0.
 */
int vehicle_notify_start(struct sim *sim);

#endif
