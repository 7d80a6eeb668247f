// The header compiles as C++17 with -Wall -Wextra -Werror and links from C++.
#include <cstdio>
#include <cstring>
#include <memory>

#include "mlops_edge.h"

namespace {
struct ModelDeleter {
    void operator()(mle_model *m) const noexcept { mle_model_free(m); }
};
}  // namespace

int main(int argc, char **argv) {
    static_assert(MLE_OK == 0, "MLE_OK is zero");
    const char *path = argc > 1 ? argv[1] : "models/digits-mlp";
    mle_model *raw = nullptr;
    if (mle_model_load(path, nullptr, &raw) != MLE_OK) {
        std::fprintf(stderr, "load failed: %s\n", mle_last_error());
        return 1;
    }
    std::unique_ptr<mle_model, ModelDeleter> model(raw);
    mle_model_details info{};
    if (mle_model_info(model.get(), &info) != MLE_OK) return 1;
    std::printf("C++17: %s has %u labels\n", info.name, static_cast<unsigned>(info.label_count));
    return std::strlen(info.name) > 0 ? 0 : 1;
}
