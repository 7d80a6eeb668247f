//! The manifest: what a package holds (each file's name, size and SHA-256), its format version,
//! the package version (for refusing an older package replayed to a device) and the model it
//! carries. Its exact bytes are what the signature covers.

use serde_json::{json, Value};

use super::signature::sha256;
use super::CONTENT_FILES;
use crate::error::{fail, Error, Result, Status};
use crate::hex::{decode_array, encode as to_hex};

/// The `format` value of every manifest.
pub const FORMAT: &str = "mlops-edge-package";
/// The format version this library writes and reads. A manifest of a later version is refused
/// (made by a newer packer: update the library).
pub const FORMAT_VERSION: u64 = 1;

/// The way out of a package whose files do not match its manifest.
pub(crate) const REFETCH: &str = "fetch the package again, or pack and sign it again with mle-pack";

/// One file of a package as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Its name in the package (one of [`CONTENT_FILES`]).
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

impl FileEntry {
    /// Checks `data` against this entry (`PackageTampered` naming the file otherwise).
    pub fn check(&self, data: &[u8]) -> Result<()> {
        if data.len() as u64 != self.bytes {
            return fail(
                Status::PackageTampered,
                format!(
                    "{} has {} bytes, the manifest says {}: the file changed after packing ({REFETCH})",
                    self.name,
                    data.len(),
                    self.bytes
                ),
            );
        }
        let digest = sha256(data);
        if digest != self.sha256 {
            return fail(
                Status::PackageTampered,
                format!(
                    "{} has SHA-256 {}, the manifest says {}: the file changed after packing ({REFETCH})",
                    self.name,
                    to_hex(&digest),
                    to_hex(&self.sha256)
                ),
            );
        }
        Ok(())
    }
}

/// A package's manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Increases with every release of the model line; a device can refuse anything below a
    /// minimum (`min_package_version`), so an older signed package cannot be replayed to it.
    pub package_version: u64,
    /// The model's name (its card's), for people and logs.
    pub name: String,
    /// The model's version (its card's), for people and logs.
    pub version: String,
    /// The files, in package order.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The manifest describing `files`.
    pub fn describe(files: &[(&str, &[u8])], package_version: u64, name: &str, version: &str) -> Result<Manifest> {
        let mut entries: Vec<FileEntry> = Vec::with_capacity(files.len());
        for (file, data) in files {
            if !CONTENT_FILES.contains(file) {
                return fail(
                    Status::InvalidArgument,
                    format!("a package holds only {}; not {file}", CONTENT_FILES.join(", ")),
                );
            }
            if entries.iter().any(|e| e.name == *file) {
                return fail(Status::InvalidArgument, format!("{file} given twice"));
            }
            entries.push(FileEntry { name: file.to_string(), bytes: data.len() as u64, sha256: sha256(data) });
        }
        if !entries.iter().any(|e| e.name == super::MODEL) {
            return fail(Status::InvalidArgument, format!("a package needs its {}", super::MODEL));
        }
        Ok(Manifest { package_version, name: name.to_string(), version: version.to_string(), files: entries })
    }

    /// The entry for `name`, if listed.
    pub fn entry(&self, name: &str) -> Option<&FileEntry> {
        self.files.iter().find(|e| e.name == name)
    }

    /// The manifest as written in a package (compact JSON, keys in a fixed order).
    pub fn to_json(&self) -> Vec<u8> {
        let files: Vec<Value> =
            self.files.iter().map(|f| json!({"name": f.name, "bytes": f.bytes, "sha256": to_hex(&f.sha256)})).collect();
        let doc = json!({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": self.package_version,
            "name": self.name,
            "version": self.version,
            "files": files,
        });
        let mut text = serde_json::to_vec_pretty(&doc).expect("a JSON value always serializes");
        text.push(b'\n');
        text
    }

    /// Parses a manifest (`PackageInvalid` naming what is wrong).
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let bad = |why: String| Error::new(Status::PackageInvalid, format!("{}: {why}", super::MANIFEST));
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(bad(format!("\"format\" is not \"{FORMAT}\": not a model package")));
        }
        match doc.get("format_version").and_then(Value::as_u64) {
            Some(FORMAT_VERSION) => {}
            Some(v) if v > FORMAT_VERSION => {
                return Err(bad(format!(
                    "format_version {v} is newer than this library reads ({FORMAT_VERSION}): update the library, or \
                     pack with the mle-pack of this release"
                )))
            }
            _ => return Err(bad(format!("format_version must be {FORMAT_VERSION}"))),
        }
        let package_version = doc
            .get("package_version")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("\"package_version\" must be a whole number".into()))?;
        let text = |key: &str| -> Result<String> {
            doc.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(format!("\"{key}\" must be a string")))
        };
        let (name, version) = (text("name")?, text("version")?);
        let list =
            doc.get("files").and_then(Value::as_array).ok_or_else(|| bad("\"files\" must be an array".into()))?;
        let mut files: Vec<FileEntry> = Vec::with_capacity(list.len().min(CONTENT_FILES.len()));
        for (i, item) in list.iter().enumerate() {
            let file_name =
                item.get("name").and_then(Value::as_str).ok_or_else(|| bad(format!("files[{i}] has no \"name\"")))?;
            if !CONTENT_FILES.contains(&file_name) {
                return Err(bad(format!("files[{i}]: {file_name:?} is not one of {}", CONTENT_FILES.join(", "))));
            }
            if files.iter().any(|f| f.name == file_name) {
                return Err(bad(format!("{file_name} is listed twice")));
            }
            let size = item
                .get("bytes")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("{file_name}: \"bytes\" must be a whole number")))?;
            let digest = item
                .get("sha256")
                .and_then(Value::as_str)
                .and_then(decode_array::<32>)
                .ok_or_else(|| bad(format!("{file_name}: \"sha256\" must be 64 hex digits")))?;
            files.push(FileEntry { name: file_name.to_string(), bytes: size, sha256: digest });
        }
        Ok(Manifest { package_version, name, version, files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_as_written() {
        let m = Manifest::describe(&[("model.onnx", b"abc"), ("card.json", b"{}")], 7, "m", "1.0").unwrap();
        let again = Manifest::parse(&m.to_json()).unwrap();
        assert_eq!(m, again);
        assert_eq!(
            to_hex(&again.entry("model.onnx").unwrap().sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(again.entry("tokenizer.json").is_none());
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let cases: [(&str, &str); 6] = [
            ("[]", "\"format\""),
            (r#"{"format":"mlops-edge-package","format_version":2}"#, "update the library"),
            (r#"{"format":"mlops-edge-package","format_version":1}"#, "package_version"),
            (
                r#"{"format":"mlops-edge-package","format_version":1,"package_version":1,"name":"a","version":"b","files":[{"name":"x.bin","bytes":1,"sha256":"00"}]}"#,
                "x.bin",
            ),
            (
                r#"{"format":"mlops-edge-package","format_version":1,"package_version":1,"name":"a","version":"b","files":[{"name":"model.onnx","bytes":1,"sha256":"00"}]}"#,
                "64 hex digits",
            ),
            ("{", "not JSON"),
        ];
        for (text, why) in cases {
            let err = Manifest::parse(text.as_bytes()).unwrap_err();
            assert_eq!(err.status(), Status::PackageInvalid);
            assert!(err.message().contains(why), "{text}: {}", err.message());
        }
        let err = Manifest::describe(&[("card.json", b"{}")], 1, "", "").unwrap_err();
        assert!(err.message().contains("model.onnx"), "{}", err.message());
        let err = Manifest::describe(&[("model.onnx", b""), ("../x", b"")], 1, "", "").unwrap_err();
        assert!(err.message().contains("../x"), "{}", err.message());
    }

    #[test]
    fn a_changed_byte_or_size_is_named() {
        let m = Manifest::describe(&[("model.onnx", b"abc")], 1, "", "").unwrap();
        let entry = m.entry("model.onnx").unwrap();
        assert!(entry.check(b"abc").is_ok());
        for data in [&b"abd"[..], b"abcd"] {
            let err = entry.check(data).unwrap_err();
            assert_eq!(err.status(), Status::PackageTampered);
            assert!(err.message().contains("model.onnx"), "{}", err.message());
        }
    }
}
