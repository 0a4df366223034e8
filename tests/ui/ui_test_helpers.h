#pragma once
// Shared fixtures for the GUI tests.

#include <QString>

#include "workspace/model_summary.h"

namespace layerlab::ui::test {

// The bundled demo model's numbers, derived by hand from resources/demo/config.json (hidden 256,
// FFN 1024, 10 layers, 8 heads of 32, 2 KV heads, vocabulary 8192, untied LM head), f32 compute:
//   attention = input norm 256 + q 256*256 + k 256*64 + v 256*64 + o 256*256 = 164,096
//   ffn       = post-attention norm 256 + (gate + up + down) 3*256*1024      = 786,688
//   total     = 10 * 950,784 + embedding 2,097,152 + LM head 2,097,152 + final norm 256 = 13,702,400
ModelSummary demoSummary();

QString demoDir(); // empty when the demo model is missing
// Where the window's model tests run: LAYERLAB_TEST_DEVICE (cuda on a GPU machine), else "cpu".
QString device();
QString sourcePath(const QString& relative);

} // namespace layerlab::ui::test
