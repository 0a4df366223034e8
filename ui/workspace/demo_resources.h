#pragma once
// Where the bundled demo model and its data live: $LAYERLAB_DEMO_MODEL, the source tree's
// resources/demo, or share/layerlab/demo next to an installed binary. Empty when none is there.

#include <QString>

namespace layerlab::ui {

QString demoModelDir();
QString demoCalibrationFile(); // heldout.txt
QString demoTaskFile();        // next_verse.jsonl

} // namespace layerlab::ui
