#pragma once
// The time now in UTC as ISO 8601 ("2026-12-01T13:18:02Z"): when a manifest or report was made.

#include <string>

namespace layerlab {

std::string utcNow();

} // namespace layerlab
