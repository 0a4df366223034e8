#pragma once
// Precompiled header of the workbench and its tests: Qt's and LibTorch's headers are most of the
// compile time of each folder's unity source (33 s of a 48 s compile of ui/cost/ on 2 cores).
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtCharts>
#include <QtConcurrent>
#include <QtWidgets>
