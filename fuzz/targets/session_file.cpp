// seeds: tests/data/sessions/*.layerlab
// core: session/session_file.cpp
// fuzz-options: -max_len=8192

// .layerlab session files: JSON parsing and the session reader's checks; a session that reads
// must write and read back.

#include "fuzz_target.h"

#include "io/json_file.h"
#include "session/session_file.h"

#include <cstdlib>

LAYERLAB_FUZZ_TARGET(session_file) {
    using namespace layerlab;
    const Session s = sessionFromJson(parseJsonText(input, "s.layerlab"), "s.layerlab", "/base");
    const Session back = sessionFromJson(sessionToJson(s), "round trip", "/base");
    if (back.modelDir != s.modelDir || back.removed != s.removed || back.scores.size() != s.scores.size() ||
        back.evaluations.size() != s.evaluations.size())
        std::abort();
}
