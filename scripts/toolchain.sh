# Sourced by scripts/setup.sh, scripts/test.sh and scripts/cross.sh: the pinned nightly toolchain
# that Miri and ThreadSanitizer use (a dated nightly, so that a new nightly's Miri or sanitizer
# changes never break a run; move the date deliberately, in its own commit).
NIGHTLY=nightly-2026-05-20
