/*
 * notify_logs.h - the historical data records a module raises as "data" notifications
 * (spec/server-v3.md 3): *-LOG-Grid (log.grid) and *-LOG-Trip (log.trip).  Private to
 * notify*.c.
 */
#ifndef SIM_NOTIFY_LOGS_H
#define SIM_NOTIFY_LOGS_H

struct sim;
struct sbuf;

/* Appends the record text (without raising it).  storetime_days > 0. */
void notify_grid_record(struct sim *sim, long storetime_days, struct sbuf *out);
void notify_trip_record(struct sim *sim, long storetime_days, struct sbuf *out);

/* NotifyGridLog()/NotifyTripLog(): raise the record if "notify log.grid.storetime" /
 * "notify log.trip.storetime" (days) is > 0. */
void notify_grid_log(struct sim *sim);
void notify_trip_log(struct sim *sim);

#endif
