/* The C API as one module: the generated header (installed by scripts/install.sh, or found through
 * pkg-config's include directory). */
#include <mlops_edge.h>
