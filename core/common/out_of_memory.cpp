#include "common/out_of_memory.h"

#include "common/error.h"

#include <c10/util/Exception.h>

#include <new>

namespace layerlab {

bool isOutOfMemory(const std::exception& e) {
    if (dynamic_cast<const c10::OutOfMemoryError*>(&e) || dynamic_cast<const std::bad_alloc*>(&e))
        return true;
    if (!dynamic_cast<const c10::Error*>(&e)) return false;
    const std::string what = e.what();
    // c10's CPU allocator (alloc_cpu.cpp): "can't allocate memory" on Linux, "not enough memory"
    // elsewhere; LayerLab's own (host_allocator.cpp) says the latter.
    return what.find("out of memory") != std::string::npos ||
           what.find("not enough memory") != std::string::npos ||
           what.find("can't allocate memory") != std::string::npos;
}

void rethrowIfOutOfMemory(const std::exception& e, const std::string& task) {
    if (!isOutOfMemory(e)) return;
    // LibTorch's messages run on with allocator statistics and a C++ backtrace.
    const auto* c10 = dynamic_cast<const c10::Error*>(&e);
    std::string first = c10 ? c10->what_without_backtrace() : e.what();
    first = first.substr(0, first.find('\n'));
    if (first.size() > 300) first = first.substr(0, 300) + "...";
    throw Error("out of memory while " + task + " (" + first +
                "). Use a smaller batch size or shorter sequences, a smaller dtype (bf16), or spread the "
                "model over more GPUs; the model is unchanged and can be used again");
}

} // namespace layerlab
