//! Deployment decisions, free of threads and locks: which variant a user gets ([`ab`]), whether
//! a difference is significant ([`significance`]), how a staged rollout moves ([`rollout`]),
//! whether a model passes its self-test ([`selftest`]), whether it can take the inputs the
//! runtime serves ([`schema`]) and how stale it is ([`staleness`]).
//! The [`Runtime`](crate::Runtime) applies them while serving.

pub mod ab;
pub mod rollout;
pub mod schema;
pub mod selftest;
pub mod significance;
pub mod staleness;
