/* The C API as one module: the generated header (installed by scripts/install.sh, or found through
 * pkg-config's include directory). */
#include <mlops_edge.h>

/* Swift imports a macro only when it is a literal, or one operator between two literals or macros
 * with no inner parentheses: `MLE_ABI_VERSION ((MLE_ABI_VERSION_MAJOR << 16) |
 * MLE_ABI_VERSION_MINOR)` is not imported. Clang evaluates the header's own definition here, so the
 * Swift layer passes the ABI it was compiled against to mle_abi_check without restating the
 * formula. */
static const uint32_t CMLE_ABI_VERSION = MLE_ABI_VERSION;
