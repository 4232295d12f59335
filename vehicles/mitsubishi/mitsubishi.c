/* mitsubishi.c - placeholder (being written). */
#include "vehicle.h"

const struct vehicle_type vehicle_type_mitsubishi = {
    .name = "mitsubishi",
    .code = "MI",
    .title = "mitsubishi",
};
