#include "kernels/fused_ops.h"
#include "common/cuda_build.h"

#include "common/error.h"
#include "kernels/gpu_kernels.h"

#ifdef LAYERLAB_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace layerlab::fused {

#ifdef LAYERLAB_WITH_CUDA_KERNELS

namespace {

gpu::ElementType elementType(const torch::Tensor& x) {
    switch (x.scalar_type()) {
    case torch::kFloat32:
        return gpu::ElementType::Float32;
    case torch::kFloat16:
        return gpu::ElementType::Float16;
    case torch::kBFloat16:
        return gpu::ElementType::BFloat16;
    default:
        throw Error(std::string("no fused kernel for ") + c10::toString(x.scalar_type()));
    }
}

void check(const char* error, const char* what) {
    if (error) throw Error(std::string(what) + ": " + error);
}

void* stream() {
    return at::cuda::getCurrentCUDAStream().stream();
}

} // namespace

bool available(const torch::Tensor& x) {
    const auto t = x.scalar_type();
    return x.is_cuda() && (t == torch::kFloat32 || t == torch::kFloat16 || t == torch::kBFloat16);
}

namespace {

// Raw pointers go to the kernels: CUDA tensors of a supported dtype, outside autograd.
void checkInput(const torch::Tensor& x, const char* what) {
    TORCH_CHECK(available(x), what, ": a CUDA tensor in float32, float16 or bfloat16");
    TORCH_CHECK(!x.requires_grad(), what, ": the kernel does not record gradients");
}

} // namespace

void rotaryInPlace(torch::Tensor& q, torch::Tensor& k, const torch::Tensor& cos, const torch::Tensor& sin) {
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && cos.dim() == 3 && cos.sizes() == sin.sizes() &&
                    cos.strides() == sin.strides(),
                "rotaryInPlace: shapes");
    TORCH_CHECK(q.stride(3) == 1 && k.stride(3) == 1 && cos.stride(2) == 1,
                "rotaryInPlace: the last dimension");
    for (const torch::Tensor* t : std::initializer_list<const torch::Tensor*>{&q, &k, &cos, &sin})
        checkInput(*t, "rotaryInPlace");
    TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == cos.scalar_type() &&
                    q.scalar_type() == sin.scalar_type(),
                "rotaryInPlace: dtypes");
    TORCH_CHECK(k.device() == q.device() && cos.device() == q.device() && sin.device() == q.device(),
                "rotaryInPlace: devices");
    const c10::cuda::CUDAGuard guard(q.device());
    gpu::RotaryArgs a;
    a.q = q.data_ptr();
    a.k = k.data_ptr();
    a.cos = cos.data_ptr();
    a.sin = sin.data_ptr();
    a.type = elementType(q);
    a.batch = q.size(0);
    a.qHeads = q.size(1);
    a.kHeads = k.size(1);
    a.positions = q.size(2);
    a.headDim = q.size(3);
    TORCH_CHECK(k.size(0) == a.batch && k.size(2) == a.positions && k.size(3) == a.headDim &&
                    a.headDim % 2 == 0 && cos.size(1) == a.positions && cos.size(2) == a.headDim &&
                    (cos.size(0) == 1 || cos.size(0) == a.batch),
                "rotaryInPlace: sizes");
    for (int d = 0; d < 3; ++d) {
        a.qStride[d] = q.stride(d);
        a.kStride[d] = k.stride(d);
    }
    a.tableStride[0] = cos.size(0) == 1 ? 0 : cos.stride(0);
    a.tableStride[1] = cos.stride(1);
    check(gpu::rotaryInPlace(a, stream()), "rotary embedding kernel");
}

torch::Tensor siluMul(const torch::Tensor& gateUp) {
    const int64_t inner = gateUp.size(-1) / 2;
    checkInput(gateUp, "siluMul");
    TORCH_CHECK(gateUp.size(-1) == 2 * inner && gateUp.stride(-1) == 1,
                "siluMul: [..., 2I], rows contiguous");
    const c10::cuda::CUDAGuard guard(gateUp.device());
    auto sizes = gateUp.sizes().vec();
    sizes.back() = inner;
    auto out = torch::empty(sizes, gateUp.options());
    // Rows of the leading dimensions: one stride must step them all.
    const auto rows = gateUp.reshape({-1, 2 * inner});
    check(gpu::siluMul(rows.data_ptr(), out.data_ptr(), elementType(gateUp), rows.size(0), inner,
                       rows.stride(0), stream()),
          "SiLU kernel");
    return out;
}

namespace {

// h (and update) [..., H] and weight [H]: one dtype and device, contiguous.
gpu::RmsNormArgs rmsNormArgs(const torch::Tensor& h, const torch::Tensor* update, const torch::Tensor& weight,
                             double eps) {
    const char* what = update ? "addRmsNorm" : "rmsNorm";
    checkInput(h, what);
    checkInput(weight, what);
    TORCH_CHECK(h.dim() >= 1 && weight.dim() == 1 && weight.size(0) == h.size(-1), what,
                ": x [..., H], weight [H]");
    TORCH_CHECK(weight.scalar_type() == h.scalar_type() && weight.device() == h.device(), what,
                ": one dtype and device");
    TORCH_CHECK(h.is_contiguous() && weight.is_contiguous(), what, ": contiguous tensors");
    if (update) {
        checkInput(*update, what);
        TORCH_CHECK(update->sizes() == h.sizes() && update->scalar_type() == h.scalar_type() &&
                        update->device() == h.device() && update->is_contiguous(),
                    what, ": update shaped like h, in its dtype and device, contiguous");
    }
    gpu::RmsNormArgs a;
    a.h = h.data_ptr();
    a.update = update ? update->data_ptr() : nullptr;
    a.weight = weight.data_ptr();
    a.type = elementType(h);
    a.width = h.size(-1);
    a.rows = a.width == 0 ? 0 : h.numel() / a.width;
    a.eps = static_cast<float>(eps);
    return a;
}

} // namespace

torch::Tensor addRmsNorm(const torch::Tensor& h, torch::Tensor& update, const torch::Tensor& weight,
                         double eps) {
    auto a = rmsNormArgs(h, &update, weight, eps);
    const c10::cuda::CUDAGuard guard(h.device());
    auto sum = torch::empty_like(h);
    a.sum = sum.data_ptr();
    a.normed = update.data_ptr();
    check(gpu::rmsNorm(a, stream()), "residual add and RMSNorm kernel");
    return sum;
}

torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    auto a = rmsNormArgs(x, nullptr, weight, eps);
    const c10::cuda::CUDAGuard guard(x.device());
    auto normed = torch::empty_like(x);
    a.normed = normed.data_ptr();
    check(gpu::rmsNorm(a, stream()), "RMSNorm kernel");
    return normed;
}

torch::Tensor tokenLogProbs(const torch::Tensor& logits, const torch::Tensor& targets,
                            torch::Tensor* isArgmax) {
    TORCH_CHECK(logits.dim() == 3 && targets.dim() == 2 && targets.size(0) == logits.size(0) &&
                    targets.size(1) == logits.size(1) && logits.stride(2) == 1,
                "tokenLogProbs: logits [B, T, V] (V contiguous), targets [B, T]");
    checkInput(logits, "tokenLogProbs");
    const c10::cuda::CUDAGuard guard(logits.device());
    const auto ids = targets.to(logits.device(), torch::kInt64);
    auto out = torch::empty({logits.size(0), logits.size(1)}, logits.options().dtype(torch::kFloat32));
    gpu::LogProbArgs a;
    a.logits = logits.data_ptr();
    a.type = elementType(logits);
    a.batch = logits.size(0);
    a.positions = logits.size(1);
    a.vocab = logits.size(2);
    a.logitStride[0] = logits.stride(0);
    a.logitStride[1] = logits.stride(1);
    a.targets = ids.data_ptr<int64_t>();
    a.targetStride[0] = ids.stride(0);
    a.targetStride[1] = ids.stride(1);
    a.logProb = out.data_ptr<float>();
    if (isArgmax) {
        *isArgmax = torch::empty({a.batch, a.positions}, logits.options().dtype(torch::kBool));
        a.isArgmax = reinterpret_cast<uint8_t*>(isArgmax->data_ptr<bool>());
    }
    check(gpu::tokenLogProbs(a, stream()), "log-probability kernel");
    return out;
}

torch::Tensor negatedMaskedSum(const torch::Tensor& logProb, const torch::Tensor& keep) {
    TORCH_CHECK(logProb.dim() == 2 && logProb.is_contiguous() && logProb.scalar_type() == torch::kFloat32,
                "negatedMaskedSum: float32 [B, T]");
    checkInput(logProb, "negatedMaskedSum");
    const c10::cuda::CUDAGuard guard(logProb.device());
    torch::Tensor k;
    int64_t strides[2] = {0, 0};
    if (keep.defined()) {
        TORCH_CHECK(keep.sizes() == logProb.sizes(), "negatedMaskedSum: keep has the shape of logProb");
        k = keep.to(logProb.device(), torch::kBool);
        strides[0] = k.stride(0);
        strides[1] = k.stride(1);
    }
    auto out = torch::empty({2}, logProb.options().dtype(torch::kFloat64));
    check(gpu::negatedMaskedSum(logProb.data_ptr<float>(), logProb.size(0), logProb.size(1),
                                k.defined() ? reinterpret_cast<const uint8_t*>(k.data_ptr<bool>()) : nullptr,
                                strides, out.data_ptr<double>(), stream()),
          "masked sum kernel");
    return out;
}

#else

namespace {
[[noreturn]] void unavailable() {
    throw Error("LayerLab was built without its CUDA kernels (LibTorch without CUDA, or no nvcc)");
}
} // namespace

bool available(const torch::Tensor&) {
    return false;
}
void rotaryInPlace(torch::Tensor&, torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
    unavailable();
}
torch::Tensor siluMul(const torch::Tensor&) {
    unavailable();
}
torch::Tensor addRmsNorm(const torch::Tensor&, torch::Tensor&, const torch::Tensor&, double) {
    unavailable();
}
torch::Tensor rmsNorm(const torch::Tensor&, const torch::Tensor&, double) {
    unavailable();
}
torch::Tensor tokenLogProbs(const torch::Tensor&, const torch::Tensor&, torch::Tensor*) {
    unavailable();
}
torch::Tensor negatedMaskedSum(const torch::Tensor&, const torch::Tensor&) {
    unavailable();
}

#endif

} // namespace layerlab::fused
