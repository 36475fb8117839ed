// Opaque ids: UUIDv7 strings, so ids sort by creation time (good B-tree locality) and
// reveal nothing but that time.
#pragma once

#include <string>

#include "common/time.h"

namespace lms {

std::string new_id();
std::string new_id_at(Millis ms);

}  // namespace lms
