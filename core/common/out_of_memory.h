#pragma once
// Running out of GPU or host memory in the middle of an evaluation, a scoring run or a training
// run is an input problem (batch too large, model too big for the device), not a crash: the
// long operations turn LibTorch's allocator errors into an Error that says what ran out and
// what to change. The tensors of the failed step are freed as the exception unwinds, so the
// model and its adapters stay as they were and the next call can run with smaller settings.

#include <exception>
#include <string>

namespace layerlab {

// LibTorch's out-of-memory errors: c10::OutOfMemoryError (CUDA, and the CPU allocator in
// LibTorch 2) and the CPU allocator's "not enough memory" c10::Error in LibTorch 1.x; and
// std::bad_alloc.
bool isOutOfMemory(const std::exception& e);

// Throws Error("out of memory while <task>: <first line of the allocator's message>. ...") when
// `e` is an out-of-memory error; returns otherwise, so the caller rethrows the original.
void rethrowIfOutOfMemory(const std::exception& e, const std::string& task);

} // namespace layerlab
