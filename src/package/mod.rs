//! Model packages: one file holding a model, its tokenizer, its card and its golden self-test
//! cases, with a manifest of every file's SHA-256 and an optional Ed25519 signature over the
//! manifest (docs/packages.md describes the format).
//!
//! - [`manifest`]: the manifest document (what it lists, its JSON form).
//! - [`archive`]: the container (an uncompressed tar of plain files) read with bounds, written
//!   deterministically.
//! - [`signature`]: Ed25519 keys and the signature document.
//! - [`trust`]: the trust policy (trusted keys, minimum package version) and what a verified
//!   package says of where it comes from ([`Provenance`]).
//! - this file: opening a package (every check in order, each refusal with its own status) and
//!   building one.

pub mod archive;
pub mod manifest;
pub mod signature;
pub mod trust;

use crate::error::{fail, Error, Result, Status};
pub use manifest::{FileEntry, Manifest};
pub use signature::{PublicKey, SecretKey, SignatureDoc};
pub use trust::{Provenance, TrustPolicy};

/// The manifest's name in a package (its first entry).
pub const MANIFEST: &str = "manifest.json";
/// The signature's name in a package (the entry after the manifest, when the package is signed).
pub const SIGNATURE: &str = "signature.json";
/// The ONNX model.
pub const MODEL: &str = "model.onnx";
/// The tokenizer of a text model (Hugging Face tokenizer.json).
pub const TOKENIZER: &str = "tokenizer.json";
/// The model card (the sidecar card's keys).
pub const CARD: &str = "card.json";
/// The golden self-test cases (the card's `self_test` format: a JSON array of cases).
pub const SELF_TEST: &str = "self_test.json";
/// The files a package may hold beside its manifest and signature.
pub const CONTENT_FILES: [&str; 4] = [MODEL, TOKENIZER, CARD, SELF_TEST];

/// True when `head` (the first bytes of a file, at least 512 of them for a yes) is the start of a
/// package: a tar whose first entry is the manifest. ONNX files never start this way.
pub fn looks_like_package(head: &[u8]) -> bool {
    archive::first_entry_is(head, MANIFEST)
}

/// A package whose manifest, signature, files and version passed every check of its
/// [`TrustPolicy`]: the contents by name, and where it comes from.
#[derive(Debug)]
pub struct Package {
    /// The manifest (as verified).
    pub manifest: Manifest,
    /// The files the manifest lists, by name, in manifest order.
    pub files: Vec<(String, Vec<u8>)>,
    /// Who signed it, its version, its manifest's hash.
    pub provenance: Provenance,
}

impl Package {
    /// The bytes of the file called `name`, when the package holds one.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_slice())
    }

    /// The sidecar card the model is loaded with: `card.json` with the cases of `self_test.json`
    /// under its `self_test` key (the card's own `self_test` and a `self_test.json` together are
    /// refused: which one counts would be a guess).
    pub fn sidecar_card(&self) -> Result<Option<String>> {
        let card = self.file(CARD);
        let Some(cases) = self.file(SELF_TEST) else {
            return card.map(|c| utf8(CARD, c).map(str::to_string)).transpose();
        };
        let cases: serde_json::Value = serde_json::from_slice(cases)
            .map_err(|e| Error::new(Status::ModelCard, format!("{SELF_TEST} is not JSON: {e}")))?;
        if !cases.is_array() {
            return fail(Status::ModelCard, format!("{SELF_TEST} must be a JSON array of cases"));
        }
        let mut object = match card {
            Some(c) => match serde_json::from_str::<serde_json::Value>(utf8(CARD, c)?) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => return fail(Status::ModelCard, format!("{CARD} must be a JSON object")),
                Err(e) => return fail(Status::ModelCard, format!("{CARD} is not JSON: {e}")),
            },
            None => serde_json::Map::new(),
        };
        if object.contains_key("self_test") {
            return fail(
                Status::PackageInvalid,
                format!("the package has {SELF_TEST} and a self_test key in {CARD}: keep the cases in one of them"),
            );
        }
        object.insert("self_test".into(), cases);
        Ok(Some(serde_json::Value::Object(object).to_string()))
    }
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| Error::new(Status::ModelCard, format!("{name} is not UTF-8")))
}

/// Opens the package in `bytes` under `policy`. The checks, in order, each with its own status:
/// the container and manifest are well formed (`PackageInvalid`); the signature, when there is
/// one, verifies over the manifest under the key it names (`PackageBadSignature`); with trusted
/// keys configured, there is a signature (`PackageUnsigned`) by one of them
/// (`PackageUntrustedKey`) and the version is at least the minimum (`PackageOutdated`); every
/// file the manifest lists is there and no other (`PackageFilesMismatch`); each file has the
/// size and SHA-256 the manifest gives (`PackageTampered`).
pub fn open(bytes: &[u8], policy: &TrustPolicy) -> Result<Package> {
    let entries = archive::read(bytes)?;
    let mut entries = entries.into_iter();
    let manifest_bytes = match entries.next() {
        Some((name, data)) if name == MANIFEST => data,
        _ => return fail(Status::PackageInvalid, format!("a package starts with {MANIFEST}")),
    };
    let manifest = Manifest::parse(&manifest_bytes)?;
    let mut rest: Vec<(String, Vec<u8>)> = entries.collect();
    let signature = match rest.iter().position(|(name, _)| name == SIGNATURE) {
        Some(ix) => Some(SignatureDoc::parse(&rest.remove(ix).1)?),
        None => None,
    };
    if let Some(sig) = &signature {
        sig.verify(&manifest_bytes)?;
    }
    let provenance = Provenance {
        signer: signature.as_ref().map(|s| s.public_key),
        package_version: Some(manifest.package_version),
        manifest_sha256: Some(signature::sha256(&manifest_bytes)),
    };
    policy.admit(&provenance)?;
    if let Some((extra, _)) = rest.iter().find(|(name, _)| manifest.entry(name).is_none()) {
        return fail(
            Status::PackageFilesMismatch,
            format!(
                "the package holds {extra}, which its manifest does not list (a file added after packing: {})",
                manifest::REFETCH
            ),
        );
    }
    let mut files = Vec::with_capacity(manifest.files.len());
    for entry in &manifest.files {
        let Some(ix) = rest.iter().position(|(name, _)| *name == entry.name) else {
            return fail(
                Status::PackageFilesMismatch,
                format!(
                    "{} is listed in the manifest but missing from the package ({})",
                    entry.name,
                    manifest::REFETCH
                ),
            );
        };
        let (name, data) = rest.swap_remove(ix);
        entry.check(&data)?;
        files.push((name, data));
    }
    if !files.iter().any(|(name, _)| name == MODEL) {
        return fail(Status::PackageInvalid, format!("the package has no {MODEL}"));
    }
    Ok(Package { manifest, files, provenance })
}

/// Builds an unsigned package: the manifest (every file's size and SHA-256, `package_version`,
/// the model's name and version) then the files, in the order given. Names must be among
/// [`CONTENT_FILES`] and include [`MODEL`].
pub fn build(files: &[(&str, &[u8])], package_version: u64, name: &str, version: &str) -> Result<Vec<u8>> {
    let manifest = Manifest::describe(files, package_version, name, version)?;
    let manifest_bytes = manifest.to_json();
    let mut entries: Vec<(&str, &[u8])> = vec![(MANIFEST, &manifest_bytes)];
    entries.extend_from_slice(files);
    archive::write(&entries)
}

/// The package in `bytes`, signed with `key` (a signature already there is replaced). The files
/// are checked against the manifest first: a package that would not open is not signed.
pub fn sign(bytes: &[u8], key: &SecretKey) -> Result<Vec<u8>> {
    let package = open(bytes, &TrustPolicy::default())?;
    let manifest_bytes = package.manifest.to_json();
    let signature = SignatureDoc::sign(&manifest_bytes, key).to_json();
    let mut entries: Vec<(&str, &[u8])> = vec![(MANIFEST, &manifest_bytes), (SIGNATURE, &signature)];
    entries.extend(package.files.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    archive::write(&entries)
}
