#pragma once
// Between the workspace and a `.layerlab` session file (core/session/session_file.h): what a session
// holds is captured from the workspace, and applied back once its model is open. Adapters travel
// in their own safetensors file beside the session; installing them is the caller's GUI step.

#include <QString>

#include "session/session_file.h"

namespace layerlab::ui {

class Workspace;

// What the pages beside the workspace showed, as sessions keep it; null where there is nothing.
struct PageRecords {
    nlohmann::json recovery;     // RecoveryPanel::sessionRecord
    nlohmann::json pruningCurve; // curveRecord
    nlohmann::json generations;  // GenerationPage::sessionRecord
};

// The workspace's model folder, data choices, removal set (with its cost), scores and
// evaluations, and the pages' records. `adapters` is the file the installed adapters were saved
// to (empty: none).
Session captureSession(const Workspace& workspace, const std::filesystem::path& adapters,
                       const PageRecords& pages);

// Applies data choices, removal set, scores and evaluations to a workspace whose model is the
// session's (call after the model is open). Throws Error when they do not fit the model (a
// removal spec or score vector for another layer count): nothing is applied then.
void applySession(Workspace& workspace, const Session& session);

// The adapters file that goes with a session file: "x.layerlab" -> "x.adapters.safetensors".
std::filesystem::path adaptersPathFor(const std::filesystem::path& sessionFile);

} // namespace layerlab::ui
