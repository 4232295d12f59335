/* teslaroadster.c - placeholder (being written). */
#include "vehicle.h"

const struct vehicle_type vehicle_type_teslaroadster = {
    .name = "teslaroadster",
    .code = "TR",
    .title = "teslaroadster",
};
