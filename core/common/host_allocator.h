#pragma once
// How LibTorch's tensors get host memory. glibc's malloc serves every block above its mmap
// threshold with a fresh mmap and gives it back on free, so each forward pass on the CPU pays page
// faults for its activations again, one per 4 KiB page: on the demo model that made a batch of 8
// windows three times slower per token than a single window (800 against 2,300 tokens/s on 2
// cores), and a multiple-choice batch of four 1024-token choices spent 14 of its 15 s faulting
// (1.5 million faults; 4.1 s on huge pages). Called once at the start of each program, before
// any tensor is made.

namespace layerlab {

// Keeps freed blocks up to glibc's largest mmap threshold (32 MiB) in the heap, and up to 1 GiB of
// free heap before it is returned to the system, in one arena for all threads. Blocks from 32 MiB
// on (attention scores, logits), which glibc maps afresh unless its free heap holds one that
// large, lie on transparent huge pages where the kernel gives them on request
// (/sys/kernel/mm/transparent_hugepage/enabled: always or madvise): a fault per 2 MiB. With
// LibTorch 2.1 and later, LibTorch's own allocator does that (THP_MEM_ALLOC_ENABLE=1) from 2 MiB
// on. A no-op without glibc, or with the environment variable LAYERLAB_DEFAULT_MALLOC set.
void configureHostMemory();

} // namespace layerlab
