#pragma once
// glibc's malloc serves every block above its mmap threshold with a fresh mmap and gives it back
// on free, so each forward pass on the CPU pays page faults for its activations again: on the
// demo model that made a batch of 8 windows three times slower per token than a single window
// (800 against 2,300 tokens/s on 2 cores). Called once at the start of each program, before any
// tensor is made.

namespace layerlab {

// Keeps freed blocks up to glibc's largest mmap threshold (32 MiB) in the heap, and up to 1 GiB of
// free heap before it is returned to the system, in one arena for all threads. A no-op without glibc, or with
// the environment variable LAYERLAB_DEFAULT_MALLOC set.
void keepFreedHostMemory();

} // namespace layerlab
