#include "kernels/gpu_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>

// Element-wise kernels read and write 16 bytes per access where the pointers and strides allow
// it (Pack), one element otherwise. Products and sums use __fmul_rn / __fadd_rn so that the
// compiler cannot contract them into fused multiply-adds: the roundings are those of LibTorch's
// separate kernels, which transformers runs.

namespace layerlab::gpu {
namespace {

__device__ __forceinline__ float toFloat(float x) {
    return x;
}
__device__ __forceinline__ float toFloat(__half x) {
    return __half2float(x);
}
__device__ __forceinline__ float toFloat(__nv_bfloat16 x) {
    return __bfloat162float(x);
}

template <typename T> __device__ __forceinline__ T fromFloat(float x);
template <> __device__ __forceinline__ float fromFloat<float>(float x) {
    return x;
}
template <> __device__ __forceinline__ __half fromFloat<__half>(float x) {
    return __float2half_rn(x);
}
template <> __device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}
// x rounded to T and back: where the reference stores an intermediate result.
template <typename T> __device__ __forceinline__ float rounded(float x) {
    return toFloat(fromFloat<T>(x));
}

template <typename T, int N> struct alignas(sizeof(T) * N) Pack { T v[N]; };

template <typename T, int N> __device__ __forceinline__ Pack<T, N> load(const T* p) {
    return *reinterpret_cast<const Pack<T, N>*>(p);
}
template <typename T, int N> __device__ __forceinline__ void store(T* p, const Pack<T, N>& x) {
    *reinterpret_cast<Pack<T, N>*>(p) = x;
}

bool aligned(const void* p, int bytes) {
    return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

int64_t blocksFor(int64_t items, int threads) {
    return (items + threads - 1) / threads;
}

const char* launched() {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

// One item: N consecutive pairs (i, i + D/2) of one head at one position.
template <typename T, int N> __global__ void rotaryKernel(RotaryArgs a, int64_t items) {
    const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (item >= items) return;
    const int64_t half = a.headDim / 2, chunks = half / N, heads = a.qHeads + a.kHeads;
    const int64_t chunk = item % chunks;
    int64_t rest = item / chunks;
    const int64_t head = rest % heads;
    rest /= heads;
    const int64_t t = rest % a.positions, b = rest / a.positions;
    T* x = head < a.qHeads ? static_cast<T*>(a.q) + b * a.qStride[0] + head * a.qStride[1] + t * a.qStride[2]
                           : static_cast<T*>(a.k) + b * a.kStride[0] + (head - a.qHeads) * a.kStride[1] +
                                 t * a.kStride[2];
    const int64_t table = b * a.tableStride[0] + t * a.tableStride[1];
    const T* cos = static_cast<const T*>(a.cos) + table;
    const T* sin = static_cast<const T*>(a.sin) + table;
    const int64_t i = chunk * N;
    const auto x1 = load<T, N>(x + i), x2 = load<T, N>(x + half + i);
    const auto c1 = load<T, N>(cos + i), c2 = load<T, N>(cos + half + i);
    const auto s1 = load<T, N>(sin + i), s2 = load<T, N>(sin + half + i);
    Pack<T, N> y1, y2;
#pragma unroll
    for (int j = 0; j < N; ++j) {
        const float u = toFloat(x1.v[j]), w = toFloat(x2.v[j]);
        // rotate_half(x) = cat(-x2, x1): first half x1 cos - x2 sin, second x2 cos + x1 sin.
        y1.v[j] = fromFloat<T>(__fadd_rn(rounded<T>(__fmul_rn(u, toFloat(c1.v[j]))),
                                         rounded<T>(__fmul_rn(-w, toFloat(s1.v[j])))));
        y2.v[j] = fromFloat<T>(__fadd_rn(rounded<T>(__fmul_rn(w, toFloat(c2.v[j]))),
                                         rounded<T>(__fmul_rn(u, toFloat(s2.v[j])))));
    }
    store<T, N>(x + i, y1);
    store<T, N>(x + half + i, y2);
}

template <typename T> const char* rotaryTyped(const RotaryArgs& a, cudaStream_t stream) {
    constexpr int kVector = 16 / sizeof(T);
    const int64_t half = a.headDim / 2;
    bool vector = half % kVector == 0;
    for (const void* p : {static_cast<const void*>(a.q), static_cast<const void*>(a.k), a.cos, a.sin})
        vector = vector && aligned(p, 16);
    for (int d = 0; d < 3; ++d)
        vector = vector && a.qStride[d] % kVector == 0 && a.kStride[d] % kVector == 0;
    vector = vector && a.tableStride[0] % kVector == 0 && a.tableStride[1] % kVector == 0;
    const int n = vector ? kVector : 1;
    const int64_t items = a.batch * a.positions * (a.qHeads + a.kHeads) * (half / n);
    if (items == 0) return nullptr;
    constexpr int threads = 256;
    if (vector)
        rotaryKernel<T, kVector><<<blocksFor(items, threads), threads, 0, stream>>>(a, items);
    else
        rotaryKernel<T, 1><<<blocksFor(items, threads), threads, 0, stream>>>(a, items);
    return launched();
}

template <typename T, int N>
__global__ void siluMulKernel(const T* in, T* out, int64_t inner, int64_t inStride, int64_t items) {
    const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (item >= items) return;
    const int64_t chunks = inner / N, row = item / chunks, j = (item % chunks) * N;
    const auto gate = load<T, N>(in + row * inStride + j), up = load<T, N>(in + row * inStride + inner + j);
    Pack<T, N> y;
#pragma unroll
    for (int i = 0; i < N; ++i) {
        const float g = toFloat(gate.v[i]);
        // LibTorch's silu: x / (1 + exp(-x)) in float32, stored in the element type.
        const float act = rounded<T>(g / (1.0f + expf(-g)));
        y.v[i] = fromFloat<T>(__fmul_rn(act, toFloat(up.v[i])));
    }
    store<T, N>(out + row * inner + j, y);
}

template <typename T>
const char* siluMulTyped(const void* in, void* out, int64_t rows, int64_t inner, int64_t inStride,
                         cudaStream_t stream) {
    constexpr int kVector = 16 / sizeof(T);
    const bool vector =
        inner % kVector == 0 && inStride % kVector == 0 && aligned(in, 16) && aligned(out, 16);
    const int n = vector ? kVector : 1;
    const int64_t items = rows * (inner / n);
    if (items == 0) return nullptr;
    constexpr int threads = 256;
    const auto* x = static_cast<const T*>(in);
    auto* y = static_cast<T*>(out);
    if (vector)
        siluMulKernel<T, kVector>
            <<<blocksFor(items, threads), threads, 0, stream>>>(x, y, inner, inStride, items);
    else
        siluMulKernel<T, 1><<<blocksFor(items, threads), threads, 0, stream>>>(x, y, inner, inStride, items);
    return launched();
}

// N consecutive elements: one 16-byte access where Vector, one element at a time otherwise.
template <typename T, int N, bool Vector> __device__ __forceinline__ Pack<T, N> loadChunk(const T* p) {
    if constexpr (Vector) {
        return load<T, N>(p);
    } else {
        Pack<T, N> x;
#pragma unroll
        for (int i = 0; i < N; ++i)
            x.v[i] = p[i];
        return x;
    }
}
template <typename T, int N, bool Vector>
__device__ __forceinline__ void storeChunk(T* p, const Pack<T, N>& x) {
    if constexpr (Vector) {
        store<T, N>(p, x);
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i)
            p[i] = x.v[i];
    }
}

// One block per row. With Add, the sums go out in the first sweep while their squares add up,
// and the second sweep reads them back (from the cache: the row was just written) to normalise;
// without it, the row itself is normalised. Thread t takes the chunks t, t + Threads, ... in
// both sweeps and both forms: the same bits whether the norm came with an add or not.
template <typename T, int N, bool Vector, bool Add, int Threads>
__global__ void rmsNormKernel(RmsNormArgs a) {
    const int64_t offset = static_cast<int64_t>(blockIdx.x) * a.width;
    const T* h = static_cast<const T*>(a.h) + offset;
    const T* weight = static_cast<const T*>(a.weight);
    T* sum = Add ? static_cast<T*>(a.sum) + offset : nullptr;
    T* normed = static_cast<T*>(a.normed) + offset;
    float squares = 0.0f;
    for (int64_t j = static_cast<int64_t>(threadIdx.x) * N; j < a.width;
         j += static_cast<int64_t>(Threads) * N) {
        auto s = loadChunk<T, N, Vector>(h + j);
        if constexpr (Add) {
            const auto y = loadChunk<T, N, Vector>(static_cast<const T*>(a.update) + offset + j);
#pragma unroll
            for (int i = 0; i < N; ++i)
                s.v[i] = fromFloat<T>(__fadd_rn(toFloat(s.v[i]), toFloat(y.v[i])));
            storeChunk<T, N, Vector>(sum + j, s);
        }
#pragma unroll
        for (int i = 0; i < N; ++i)
            squares = __fmaf_rn(toFloat(s.v[i]), toFloat(s.v[i]), squares);
    }
    for (int o = 16; o > 0; o /= 2)
        squares += __shfl_down_sync(0xffffffffu, squares, o);
    __shared__ float warps[Threads / 32];
    __shared__ float scale;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warps[warp] = squares;
    __syncthreads();
    if (warp == 0) {
        squares = lane < Threads / 32 ? warps[lane] : 0.0f;
        for (int o = 16; o > 0; o /= 2)
            squares += __shfl_down_sync(0xffffffffu, squares, o);
        if (lane == 0) scale = rsqrtf(__fadd_rn(squares / static_cast<float>(a.width), a.eps));
    }
    __syncthreads();
    const float r = scale;
    const T* row = Add ? sum : h;
    for (int64_t j = static_cast<int64_t>(threadIdx.x) * N; j < a.width;
         j += static_cast<int64_t>(Threads) * N) {
        const auto s = loadChunk<T, N, Vector>(row + j), g = loadChunk<T, N, Vector>(weight + j);
        Pack<T, N> y;
#pragma unroll
        for (int i = 0; i < N; ++i)
            y.v[i] = fromFloat<T>(__fmul_rn(toFloat(g.v[i]), rounded<T>(__fmul_rn(toFloat(s.v[i]), r))));
        storeChunk<T, N, Vector>(normed + j, y);
    }
}

template <typename T, int N, bool Vector> void launchRmsNorm(const RmsNormArgs& a, cudaStream_t stream) {
    constexpr int threads = 256;
    const auto rows = static_cast<unsigned>(a.rows);
    if (a.update)
        rmsNormKernel<T, N, Vector, true, threads><<<rows, threads, 0, stream>>>(a);
    else
        rmsNormKernel<T, N, Vector, false, threads><<<rows, threads, 0, stream>>>(a);
}

template <typename T> const char* rmsNormTyped(const RmsNormArgs& a, cudaStream_t stream) {
    constexpr int kVector = 16 / sizeof(T);
    if (a.rows == 0 || a.width == 0) return nullptr;
    if (a.rows > 0x7fffffff) return "more rows than one launch takes (2^31 - 1)";
    // The chunks depend on the width alone, the kind of access on the pointers too.
    if (a.width % kVector != 0) {
        launchRmsNorm<T, 1, false>(a, stream);
        return launched();
    }
    bool vector = true;
    for (const void* p : {a.h, a.weight, static_cast<const void*>(a.normed)})
        vector = vector && aligned(p, 16);
    if (a.update) vector = vector && aligned(a.update, 16) && aligned(a.sum, 16);
    if (vector)
        launchRmsNorm<T, kVector, true>(a, stream);
    else
        launchRmsNorm<T, kVector, false>(a, stream);
    return launched();
}

// What a part of a row holds: its largest value and the first index of it, and the sum of
// exp(x - max) over it (an empty part: max -inf, sum 0); a NaN poisons the row.
struct RowState {
    float max;
    float sum;
    int64_t argmax;
    bool nan;
};

__device__ __forceinline__ RowState emptyRow() {
    return {-INFINITY, 0.0f, INT64_MAX, false};
}

__device__ __forceinline__ void add(RowState& s, float x, int64_t index) {
    if (isnan(x)) {
        s.nan = true;
        return;
    }
    if (x > s.max) {
        s.sum = s.max == -INFINITY ? 1.0f : s.sum * expf(s.max - x) + 1.0f;
        s.max = x;
        s.argmax = index;
    } else if (x != -INFINITY) {
        s.sum += expf(x - s.max);
    }
}

__device__ __forceinline__ RowState merge(const RowState& a, const RowState& b) {
    RowState r = emptyRow();
    r.nan = a.nan || b.nan;
    if (a.max == -INFINITY && b.max == -INFINITY) return r;
    r.max = fmaxf(a.max, b.max);
    r.sum = (a.max == -INFINITY ? 0.0f : a.sum * expf(a.max - r.max)) +
            (b.max == -INFINITY ? 0.0f : b.sum * expf(b.max - r.max));
    // torch.argmax: the first index among equal largest values.
    r.argmax = a.max > b.max         ? a.argmax
               : b.max > a.max       ? b.argmax
               : a.argmax < b.argmax ? a.argmax
                                     : b.argmax;
    return r;
}

__device__ __forceinline__ RowState shuffleDown(const RowState& s, int offset) {
    RowState o = emptyRow();
    o.max = __shfl_down_sync(0xffffffffu, s.max, offset);
    o.sum = __shfl_down_sync(0xffffffffu, s.sum, offset);
    o.argmax = __shfl_down_sync(0xffffffffu, s.argmax, offset);
    o.nan = __shfl_down_sync(0xffffffffu, static_cast<int>(s.nan), offset) != 0;
    return o;
}

// One block per (b, t).
template <typename T, int N, int Threads> __global__ void logProbKernel(LogProbArgs a) {
    const int64_t row = blockIdx.x, b = row / a.positions, t = row % a.positions;
    const T* x = static_cast<const T*>(a.logits) + b * a.logitStride[0] + t * a.logitStride[1];
    RowState s = emptyRow();
    for (int64_t j = static_cast<int64_t>(threadIdx.x) * N; j < a.vocab;
         j += static_cast<int64_t>(Threads) * N) {
        const auto p = load<T, N>(x + j);
#pragma unroll
        for (int i = 0; i < N; ++i)
            add(s, toFloat(p.v[i]), j + i);
    }
    for (int offset = 16; offset > 0; offset /= 2)
        s = merge(s, shuffleDown(s, offset));
    __shared__ RowState warps[Threads / 32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warps[warp] = s;
    __syncthreads();
    if (warp != 0) return;
    s = lane < Threads / 32 ? warps[lane] : emptyRow();
    for (int offset = 16; offset > 0; offset /= 2)
        s = merge(s, shuffleDown(s, offset));
    if (lane != 0) return;
    const int64_t target = a.targets[b * a.targetStride[0] + t * a.targetStride[1]];
    float logProb = NAN;
    if (!s.nan && target >= 0 && target < a.vocab)
        logProb = __fadd_rn(toFloat(x[target]) - s.max, -logf(s.sum)); // log_softmax: (x - max) - log(sum)
    a.logProb[row] = logProb;
    // A row of -inf only: torch.argmax gives 0. (A row with a NaN: torch gives the NaN's index; here false.)
    if (a.isArgmax) a.isArgmax[row] = !s.nan && (s.argmax == INT64_MAX ? 0 : s.argmax) == target;
}

template <typename T> const char* logProbTyped(const LogProbArgs& a, cudaStream_t stream) {
    constexpr int kVector = 16 / sizeof(T), threads = 256;
    const int64_t rows = a.batch * a.positions;
    if (rows == 0) return nullptr;
    const bool vector = a.vocab % kVector == 0 && a.logitStride[0] % kVector == 0 &&
                        a.logitStride[1] % kVector == 0 && aligned(a.logits, 16);
    if (vector)
        logProbKernel<T, kVector, threads><<<rows, threads, 0, stream>>>(a);
    else
        logProbKernel<T, 1, threads><<<rows, threads, 0, stream>>>(a);
    return launched();
}

// One block; thread i sums the rows i, i + Threads, ... and the tree below is always the same.
template <int Threads>
__global__ void negatedMaskedSumKernel(const float* logProb, int64_t positions, int64_t rows,
                                       const uint8_t* keep, int64_t keepB, int64_t keepT, double* out) {
    __shared__ double sums[Threads];
    __shared__ double counts[Threads];
    double sum = 0, count = 0;
    for (int64_t r = threadIdx.x; r < rows; r += Threads) {
        if (keep && !keep[(r / positions) * keepB + (r % positions) * keepT]) continue;
        sum -= static_cast<double>(logProb[r]);
        count += 1;
    }
    sums[threadIdx.x] = sum;
    counts[threadIdx.x] = count;
    __syncthreads();
    for (int width = Threads / 2; width > 0; width /= 2) {
        if (static_cast<int>(threadIdx.x) < width) {
            sums[threadIdx.x] += sums[threadIdx.x + width];
            counts[threadIdx.x] += counts[threadIdx.x + width];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[0] = sums[0];
        out[1] = counts[0];
    }
}

} // namespace

namespace {

// Calls f with a value of the C++ type of `type` (only its type matters).
template <typename F> const char* withElementType(ElementType type, F&& f) {
    switch (type) {
    case ElementType::Float32:
        return f(float{});
    case ElementType::Float16:
        return f(__half{});
    case ElementType::BFloat16:
        return f(__nv_bfloat16{});
    }
    return "unknown element type";
}

} // namespace

const char* rotaryInPlace(const RotaryArgs& a, void* stream) {
    return withElementType(
        a.type, [&](auto x) { return rotaryTyped<decltype(x)>(a, static_cast<cudaStream_t>(stream)); });
}

const char* siluMul(const void* in, void* out, ElementType type, int64_t rows, int64_t inner,
                    int64_t inStride, void* stream) {
    return withElementType(type, [&](auto x) {
        return siluMulTyped<decltype(x)>(in, out, rows, inner, inStride, static_cast<cudaStream_t>(stream));
    });
}

const char* rmsNorm(const RmsNormArgs& a, void* stream) {
    return withElementType(
        a.type, [&](auto x) { return rmsNormTyped<decltype(x)>(a, static_cast<cudaStream_t>(stream)); });
}

const char* tokenLogProbs(const LogProbArgs& a, void* stream) {
    return withElementType(
        a.type, [&](auto x) { return logProbTyped<decltype(x)>(a, static_cast<cudaStream_t>(stream)); });
}

const char* negatedMaskedSum(const float* logProb, int64_t batch, int64_t positions, const uint8_t* keep,
                             const int64_t keepStride[2], double* out, void* stream) {
    constexpr int threads = 1024;
    negatedMaskedSumKernel<threads><<<1, threads, 0, static_cast<cudaStream_t>(stream)>>>(
        logProb, positions > 0 ? positions : 1, batch * positions, keep, keep ? keepStride[0] : 0,
        keep ? keepStride[1] : 0, out);
    return launched();
}

} // namespace layerlab::gpu
