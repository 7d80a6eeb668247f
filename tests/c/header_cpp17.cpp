// The header compiles as C++17 with -Wall -Wextra -Werror -pedantic and links from C++; the
// struct_size idiom works from C++ (value-initialise, then set the size).
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>

#include "mlops_edge.h"

namespace {
struct ModelDeleter {
    void operator()(mle_model *m) const noexcept { mle_model_free(m); }
};
}  // namespace

static_assert(MLE_OK == 0, "MLE_OK is zero");
static_assert(MLE_ABI_VERSION == ((MLE_ABI_VERSION_MAJOR << 16) | MLE_ABI_VERSION_MINOR), "ABI version layout");
static_assert(offsetof(mle_model_details, struct_size) == 0, "struct_size comes first");
static_assert(offsetof(mle_runtime_options, struct_size) == 0, "struct_size comes first");

int main(int argc, char **argv) {
    if (mle_abi_check(MLE_ABI_VERSION) != MLE_OK) {
        std::fprintf(stderr, "ABI: %s\n", mle_last_error());
        return 1;
    }
    const char *path = argc > 1 ? argv[1] : "models/digits-mlp";
    mle_model_options options{};
    if (mle_model_options_init(&options, sizeof options) != MLE_OK) return 1;
    mle_model *raw = nullptr;
    if (mle_model_load(path, &options, &raw) != MLE_OK) {
        std::fprintf(stderr, "load failed: %s\n", mle_last_error());
        return 1;
    }
    std::unique_ptr<mle_model, ModelDeleter> model(raw);
    mle_model_details info{};
    info.struct_size = sizeof info;
    if (mle_model_get_details(model.get(), &info) != MLE_OK) {
        std::fprintf(stderr, "details failed: %s\n", mle_last_error());
        return 1;
    }
    std::printf("C++17: %s has %u labels (C ABI %u.%u)\n", info.name, static_cast<unsigned>(info.label_count),
                static_cast<unsigned>(mle_abi_version() >> 16), static_cast<unsigned>(mle_abi_version() & 0xffff));
    return std::strlen(info.name) > 0 ? 0 : 1;
}
