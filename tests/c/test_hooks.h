/*
 * Test-suite entry points of libmlops_edge: present only in a library built with the
 * `test-hooks` cargo feature (scripts/test.sh builds one for the C tests), never in a shipped
 * build, and therefore not in include/mlops_edge.h. See src/ffi/test_hooks.rs.
 */
#ifndef MLOPS_EDGE_TEST_HOOKS_H
#define MLOPS_EDGE_TEST_HOOKS_H

#include "mlops_edge.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The next classify call on the calling thread panics inside the library (MLE_ERR_PANIC). */
void mle_test_panic_next_request(void);

/* The library's clock (the telemetry backoff) reads `ms` milliseconds later from now on. */
void mle_test_advance_clock(uint64_t ms);

/* Every request on `model` reports `latency_us` microseconds instead of its measured latency
 * (0: measure again). */
mle_status mle_test_set_model_latency(const struct mle_model *model, uint64_t latency_us);

/* Requests on `model` wait inside the request path (holding their session) from now on, until
 * mle_test_release_requests: a deterministic way to make a session or a runtime pool busy. */
mle_status mle_test_hold_requests(const struct mle_model *model);

/* Blocks until `count` requests on `model` are held (at once when none are held). */
mle_status mle_test_wait_for_held_requests(const struct mle_model *model, size_t count);

/* Lets the held requests go, and stops holding new ones. */
mle_status mle_test_release_requests(const struct mle_model *model);

#ifdef __cplusplus
}
#endif

#endif
