//! Finding a model's files on disk and reading them with a bound.
//!
//! Only regular files are read, and no more than the caller's limit: a path naming a FIFO would
//! block the loading thread forever, a device such as `/dev/zero` would be read until memory
//! runs out. Each file is opened without blocking and checked *after* opening (`fstat` of the
//! opened file), so a file swapped for a FIFO between a check and the open is still refused.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{fail, Error, Result, Status};

/// Files found for a model given as a directory or an `.onnx` path.
pub(crate) struct ModelFiles {
    /// The ONNX file.
    pub onnx: PathBuf,
    /// The directory its siblings (tokenizer, card) are looked up in.
    pub dir: PathBuf,
    /// `<stem>.card.json` or `card.json`, when one exists.
    pub sidecar: Option<PathBuf>,
}

/// The files of the model at `path` (a directory holding `model.onnx`, or an ONNX file).
pub(crate) fn locate(path: &Path) -> Result<ModelFiles> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
    let (onnx, dir) = if meta.is_dir() {
        (path.join("model.onnx"), path.to_path_buf())
    } else if meta.is_file() {
        (path.to_path_buf(), path.parent().map(Path::to_path_buf).unwrap_or_default())
    } else {
        return fail(Status::Io, not_regular(path));
    };
    let stem_card = onnx.with_extension("card.json");
    let sidecar = [stem_card, dir.join("card.json")].into_iter().find(|p| p.is_file());
    Ok(ModelFiles { onnx, dir, sidecar })
}

fn not_regular(path: &Path) -> String {
    format!(
        "{}: not a regular file or a directory (a FIFO, socket or device is never read): give a model directory \
         or an .onnx file",
        path.display()
    )
}

fn io_error(path: &Path, error: &std::io::Error) -> Error {
    Error::new(Status::Io, format!("{}: {error}", path.display()))
}

/// Opens `path` for reading without blocking (a FIFO would otherwise block in `open`).
fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The bytes of the regular file at `path`, at most `limit` of them: a larger file is refused
/// with `Status::ModelLimit` naming `limit_name` (the option that raises it).
pub(crate) fn read_bounded(path: &Path, limit: u64, limit_name: &str) -> Result<Vec<u8>> {
    let file = open(path).map_err(|e| io_error(path, &e))?;
    let meta = file.metadata().map_err(|e| io_error(path, &e))?;
    if !meta.is_file() {
        return fail(Status::Io, not_regular(path));
    }
    if meta.len() > limit {
        return fail(Status::ModelLimit, too_large(path.display(), meta.len(), limit, limit_name));
    }
    // The size can change while reading (a file being written): read at most limit + 1 bytes.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| io_error(path, &e))?;
    if bytes.len() as u64 > limit {
        return fail(Status::ModelLimit, too_large(path.display(), bytes.len() as u64, limit, limit_name));
    }
    Ok(bytes)
}

/// The message for `what` (a path, "the package") of `size` bytes (or more, read up to the limit)
/// above `limit`, which the option `limit_name` raises.
pub(crate) fn too_large(what: impl std::fmt::Display, size: u64, limit: u64, limit_name: &str) -> String {
    format!("{what}: {size} bytes or more, above the limit of {limit} bytes: raise {limit_name} to load it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_up_to_the_limit() {
        let dir = std::env::temp_dir().join(format!("mle-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.onnx");
        std::fs::write(&path, [7u8; 100]).unwrap();
        assert_eq!(read_bounded(&path, 100, "max_model_bytes").unwrap().len(), 100);
        let err = read_bounded(&path, 99, "max_model_bytes").unwrap_err();
        assert_eq!(err.status(), Status::ModelLimit);
        assert!(err.message().contains("max_model_bytes"), "{}", err.message());
        let err = read_bounded(&dir, 1000, "max_model_bytes").unwrap_err();
        assert_eq!(err.status(), Status::Io, "{}", err.message());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_blocking() {
        let err = read_bounded(Path::new("/dev/zero"), 1 << 20, "max_model_bytes").unwrap_err();
        assert_eq!(err.status(), Status::Io);
        assert!(err.message().contains("not a regular file"), "{}", err.message());
        let err = locate(Path::new("/dev/zero")).err().unwrap();
        assert!(err.message().contains("not a regular file"), "{}", err.message());
        let fifo = std::env::temp_dir().join(format!("mle-fifo-{}", std::process::id()));
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_bounded(&fifo, 1 << 20, "max_model_bytes").unwrap_err();
        assert!(err.message().contains("not a regular file"), "{}", err.message());
        assert!(locate(&fifo).is_err());
        std::fs::remove_file(&fifo).unwrap();
    }
}
