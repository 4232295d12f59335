/* dbc.c - placeholder (being written). */
#include "vehicle.h"

const struct vehicle_type vehicle_type_dbc = {
    .name = "dbc",
    .code = "DBC",
    .title = "dbc",
};
