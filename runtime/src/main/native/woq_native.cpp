/*
 * What woq's native kernels share (see woq_native.h), and the library's entry points for Java:
 * woq_set_threads and woq_register_ops.
 */
#include "woq_native.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstdlib>

namespace woq {

bool cpu_has_avx512_bf16() {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
               avx512vl = b & (1u << 31);
    __cpuid_count(7, 1, a, b, c, d);
    const bool avx512bf16 = a & (1u << 5);
    // The OS must save the AVX-512 state: XCR0 bits 5-7 (opmask, ZMM) beside SSE/AVX (1-2).
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 27))) return false; // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
    return avx512f && avx512dq && avx512bw && avx512vl && avx512bf16 && (xcr0 & 0xE6) == 0xE6;
}

bool cpu_has_avx512_vnni() {
    unsigned a, b, c, d;
    if (!cpu_has_avx512_bf16()) return false;
    __cpuid_count(7, 0, a, b, c, d);
    return c & (1u << 11);
}

namespace {
/* ---- symbols of libraries already in the process ---- */

struct Search {
    const char *part;
    std::string path;
};

int find_loaded(struct dl_phdr_info *info, size_t, void *data) {
    Search *s = static_cast<Search *>(data);
    if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, s->part) != nullptr) {
        s->path = info->dlpi_name;
        return 1;
    }
    return 0;
}

} // namespace

void *loaded_symbol(const char *part, const char *name) {
    Search s{part, ""};
    dl_iterate_phdr(find_loaded, &s);
    if (s.path.empty()) return nullptr;
    void *lib = dlopen(s.path.c_str(), RTLD_NOLOAD | RTLD_LAZY);
    if (lib == nullptr) return nullptr;
    void *f = dlsym(lib, name);
    dlclose(lib); // drops only the reference taken here: the library stays loaded
    return f;
}

/* ---- threads: libtorch's OpenMP runtime ---- */

namespace {

using GompParallel = void (*)(void (*)(void *), void *, unsigned, unsigned);
using OmpInt = int (*)();
GompParallel gomp_parallel;
OmpInt omp_thread_num, omp_num_threads;
std::atomic<int> threads{1};

struct Task {
    void (*body)(void *, int, int);
    void *arg;
    int parts;
};

void run_task(void *p) {
    Task *t = static_cast<Task *>(p);
    t->body(t->arg, omp_thread_num(), omp_num_threads());
}

} // namespace

int parallel_parts(int work_items) {
    int want = threads.load();
    if (want > work_items) want = work_items;
    return want < 1 || gomp_parallel == nullptr ? 1 : want;
}

void parallel(void (*body)(void *, int, int), void *arg, int work_items) {
    const int want = parallel_parts(work_items);
    if (want <= 1) {
        body(arg, 0, 1);
        return;
    }
    Task t{body, arg, want};
    gomp_parallel(run_task, &t, (unsigned)want, 0);
}

/* ---- libtorch's stable C functions ---- */

Aoti aoti;

void check(AOTITorchError e, const std::string &what) {
    if (e != 0) throw std::runtime_error("libtorch's " + what + " failed (error " + std::to_string(e) + ")");
}

void report_failure(const char *op, const char *message) {
    // c10::Error's text is the message alone (func and file go to its backtrace): name the op in it
    const std::string text = std::string(op) + ": " + message;
    aoti.check(false, op, __FILE__, __LINE__, text.c_str());
    // aoti_torch_check(false, ...) always throws; should a libtorch ever return, fail the C++ way
    throw std::runtime_error(text);
}

std::string shape_text(const std::vector<int64_t> &s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); i++) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

/* The data of a contiguous CPU tensor of `dtype` with `dims` dimensions. */
void *contiguous_data(AtenTensorHandle t, int32_t dtype, int64_t dims, const char *name, std::vector<int64_t> &shape) {
    int32_t dt;
    int64_t dim;
    int64_t *sizes, *strides;
    const std::string of = std::string(" of ") + name;
    check(aoti.get_dtype(t, &dt), "aoti_torch_get_dtype" + of);
    check(aoti.get_dim(t, &dim), "aoti_torch_get_dim" + of);
    if (dt != dtype || dim != dims) {
        throw std::runtime_error(std::string("woq kernel: ") + name + " must be a " + std::to_string(dims) +
                                 "-d tensor of dtype " + std::to_string(dtype) + ", got " + std::to_string(dim) +
                                 "-d of dtype " + std::to_string(dt));
    }
    check(aoti.get_sizes(t, &sizes), "aoti_torch_get_sizes" + of);
    check(aoti.get_strides(t, &strides), "aoti_torch_get_strides" + of);
    int64_t expect = 1;
    for (int64_t i = dims - 1; i >= 0; i--) {
        if (sizes[i] != 1 && strides[i] != expect) {
            throw std::runtime_error(std::string("woq kernel: ") + name + " must be contiguous");
        }
        expect *= sizes[i];
    }
    shape.assign(sizes, sizes + dims);
    void *p;
    check(aoti.get_data_ptr(t, &p), "aoti_torch_get_data_ptr" + of + " " + shape_text(shape));
    return p;
}

void new_tensor(Output &result, std::initializer_list<int64_t> shape, int32_t dtype, void **data) {
    std::vector<int64_t> sizes(shape), strides(sizes.size());
    int64_t s = 1;
    for (size_t i = sizes.size(); i-- > 0;) {
        strides[i] = s;
        s *= sizes[i];
    }
    const std::string what = " for a " + shape_text(sizes) + " tensor of dtype " + std::to_string(dtype);
    check(aoti.empty_strided((int64_t)sizes.size(), sizes.data(), strides.data(), dtype, DEVICE_CPU, 0, &result.handle),
          "aoti_torch_empty_strided" + what);
    check(aoti.get_data_ptr(result.handle, data), "aoti_torch_get_data_ptr" + what);
}

void kernel_ok(int rc, const char *kernel, const std::string &shapes) {
    if (rc != 0) {
        throw std::runtime_error(std::string(kernel) + " returned " + std::to_string(rc) + " for " + shapes +
                                 (rc == -2 ? ": this CPU or OS has no AVX-512 BF16" : ": shapes it does not take"));
    }
}

void Registrar::schema(const char *text) {
    ok = ok && aoti.library_def(def, text) == 0;
}

void Registrar::code(const char *name, OpFunction f) {
    ok = ok && aoti.library_impl(impl, name, f) == 0;
}

namespace {

template <typename F>
bool bind(F &f, const char *name) {
    f = (F)loaded_symbol("libtorch_cpu", name);
    return f != nullptr;
}

} // namespace
} // namespace woq

extern "C" {

/* Uses libtorch's OpenMP threads (found in the process) for up to `n` parts; 0 when found. */
WOQ_EXPORT int woq_set_threads(int n) {
    using namespace woq;
    threads.store(n < 1 ? 1 : n);
    if (gomp_parallel == nullptr) {
        gomp_parallel = (GompParallel)loaded_symbol("libgomp", "GOMP_parallel");
        omp_thread_num = (OmpInt)loaded_symbol("libgomp", "omp_get_thread_num");
        omp_num_threads = (OmpInt)loaded_symbol("libgomp", "omp_get_num_threads");
        if (omp_thread_num == nullptr || omp_num_threads == nullptr) gomp_parallel = nullptr;
    }
    return gomp_parallel != nullptr ? 0 : -1;
}

/* 1 when this CPU and OS run the AVX-512 BF16 kernels, which every woq operator needs. */
WOQ_EXPORT int woq_avx512_supported() {
    static const int known = woq::cpu_has_avx512_bf16() ? 1 : 0;
    return known;
}

/* 1 when this CPU also has AVX-512 VNNI, on which int4 can multiply int8 activations. */
WOQ_EXPORT int woq_vnni_supported() {
    static const int known = woq::cpu_has_avx512_vnni() ? 1 : 0;
    return known;
}

/*
 * Registers woq's operators (woq::*) with the libtorch loaded in this process: every schema, and
 * the code of those this CPU runs (the AMX ones only with AMX). 0 on success; -1 when libtorch or
 * one of its stable C functions is not found; -2 when this CPU has no AVX-512 BF16; -3 when
 * libtorch refused the registration. Call once, before compiling TorchScript that uses them.
 */
WOQ_EXPORT int woq_register_ops() {
    using namespace woq;
    static int result = 1;
    if (result != 1) return result;
    if (!woq_avx512_supported()) return result = -2;
    bool ok = bind(aoti.library_init_def, "aoti_torch_library_init_def") &&
              bind(aoti.library_init_impl, "aoti_torch_library_init_impl") &&
              bind(aoti.library_def, "aoti_torch_library_def") && bind(aoti.library_impl, "aoti_torch_library_impl") &&
              bind(aoti.get_data_ptr, "aoti_torch_get_data_ptr") && bind(aoti.get_dim, "aoti_torch_get_dim") &&
              bind(aoti.get_sizes, "aoti_torch_get_sizes") && bind(aoti.get_strides, "aoti_torch_get_strides") &&
              bind(aoti.get_dtype, "aoti_torch_get_dtype") && bind(aoti.empty_strided, "aoti_torch_empty_strided") &&
              bind(aoti.delete_tensor, "aoti_torch_delete_tensor_object") && bind(aoti.check, "aoti_torch_check");
    if (!ok) return result = -1;
    Registrar r;
    if (aoti.library_init_def("woq", __FILE__, __LINE__, &r.def) != 0 ||
        aoti.library_init_impl("woq", "CPU", __FILE__, __LINE__, &r.impl) != 0) {
        return result = -3;
    }
    register_avx512_ops(r);
    register_amx_ops(r);
    register_layer_ops(r);
    // The library objects stay alive for the process: deleting them would unregister the operators.
    return result = r.ok ? 0 : -3;
}

} // extern "C"
