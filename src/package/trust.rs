//! The trust policy a model must satisfy (which keys may sign it, the lowest package version
//! taken) and what a loaded model carries of where it comes from.

use super::signature::PublicKey;
use crate::error::{fail, Result, Status};

/// Most trusted keys a policy holds.
pub const MAX_TRUSTED_KEYS: usize = 64;

/// Which models are taken. The default (no keys, no minimum) takes plain ONNX models and
/// unsigned packages, as before packages existed; a signature that is present must still verify.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Public keys whose signatures are trusted. Not empty: only packages signed by one of them
    /// are taken (plain ONNX models and unsigned packages are refused).
    pub keys: Vec<PublicKey>,
    /// Lowest `package_version` taken (0: any). Above 0, plain ONNX models (no version) are
    /// refused too.
    pub min_package_version: u64,
}

/// Where a loaded model comes from: set from a verified package, empty for a plain ONNX model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The key that signed its package, when it was signed.
    pub signer: Option<PublicKey>,
    /// Its package's version, when it came from a package.
    pub package_version: Option<u64>,
    /// SHA-256 of its package's manifest (identifies the package exactly).
    pub manifest_sha256: Option<[u8; 32]>,
}

impl TrustPolicy {
    /// True when the policy takes only signed packages.
    pub fn requires_signature(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Checks the policy's own values (at most [`MAX_TRUSTED_KEYS`] keys).
    pub fn validate(&self) -> Result<()> {
        if self.keys.len() > MAX_TRUSTED_KEYS {
            return fail(
                Status::InvalidArgument,
                format!("at most {MAX_TRUSTED_KEYS} trusted keys, got {}", self.keys.len()),
            );
        }
        Ok(())
    }

    /// Checks where a model comes from against the policy — a package's verified signer and
    /// version as it is opened, or what a loaded model carries (a runtime's policy applied to the
    /// models it is given; a plain ONNX model counts as unsigned and without a version):
    /// `PackageUnsigned`, `PackageUntrustedKey`, `PackageOutdated`.
    pub fn admit(&self, provenance: &Provenance) -> Result<()> {
        let (signer, package_version) = (provenance.signer, provenance.package_version);
        if self.requires_signature() {
            let Some(signer) = signer else {
                return fail(
                    Status::PackageUnsigned,
                    "the model is not signed, and trusted keys are configured: load a package signed by one of them \
                     (mle-pack pack, then mle-pack sign)",
                );
            };
            if !self.keys.contains(&signer) {
                return fail(
                    Status::PackageUntrustedKey,
                    format!(
                        "the model is signed by key {}, which is not among the {} trusted keys: add its public key to \
                         trusted_keys, or have the package signed with a trusted key",
                        signer.short(),
                        self.keys.len()
                    ),
                );
            }
        }
        if self.min_package_version > 0 {
            match package_version {
                Some(v) if v >= self.min_package_version => {}
                Some(v) => {
                    return fail(
                        Status::PackageOutdated,
                        format!(
                            "the model has package_version {v}, below the minimum of {}: an older release is not taken \
                             back (lower min_package_version to allow it)",
                            self.min_package_version
                        ),
                    )
                }
                None => {
                    return fail(
                        Status::PackageOutdated,
                        format!(
                            "the model has no package_version (a plain ONNX model) and min_package_version is {}: load \
                             it as a package",
                            self.min_package_version
                        ),
                    )
                }
            }
        }
        Ok(())
    }
}
