//! The container: an uncompressed POSIX tar (ustar) of plain files, so that `tar tvf` lists a
//! package and `tar xf` unpacks it. Read from memory with bounds: only regular files with plain
//! names (no directory part, no links, no devices), each name once, at most [`MAX_ENTRIES`]
//! entries. Written deterministically (mode 0644, owner 0, time 0): the same files give the same
//! bytes.

use std::io::Read;

use crate::error::{fail, Error, Result, Status};

/// Most entries read from a package (it holds six files at most; the bound keeps a hostile
/// archive of many empty entries cheap to refuse).
pub const MAX_ENTRIES: usize = 64;

/// Longest file name in a package.
const MAX_NAME: usize = 100;

fn invalid(why: impl std::fmt::Display) -> Error {
    Error::new(Status::PackageInvalid, format!("not a well-formed package: {why} (make packages with mle-pack pack)"))
}

/// The entries of the tar in `bytes`, in order: (name, contents).
pub fn read(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut archive = tar::Archive::new(std::io::Cursor::new(bytes));
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        if out.len() == MAX_ENTRIES {
            return Err(invalid(format!("more than {MAX_ENTRIES} entries")));
        }
        let kind = entry.header().entry_type();
        let name = {
            let path = entry.path().map_err(invalid)?;
            path.to_str().map(str::to_string).ok_or_else(|| invalid("an entry's name is not UTF-8"))?
        };
        if !kind.is_file() {
            return Err(invalid(format!(
                "{name:?} is not a regular file (links, directories and devices are refused)"
            )));
        }
        if !plain_name(&name) {
            return Err(invalid(format!(
                "{name:?} is not a plain file name (no directories, at most {MAX_NAME} bytes)"
            )));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!("{name} appears twice")));
        }
        let size = entry.size();
        if size > bytes.len() as u64 {
            return Err(invalid(format!("{name} claims {size} bytes, more than the package holds")));
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data).map_err(invalid)?;
        if data.len() as u64 != size {
            return Err(invalid(format!("{name} is cut short ({} of {size} bytes)", data.len())));
        }
        out.push((name, data));
    }
    Ok(out)
}

fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// A tar of `entries` in the given order.
pub fn write(entries: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        if !plain_name(name) {
            return fail(Status::InvalidArgument, format!("{name:?} is not a plain file name"));
        }
        let mut header = tar::Header::new_ustar();
        header.set_path(name).map_err(|e| Error::new(Status::InvalidArgument, format!("{name}: {e}")))?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).map_err(|e| Error::new(Status::Io, format!("writing {name}: {e}")))?;
    }
    builder.into_inner().map_err(|e| Error::new(Status::Io, format!("finishing the package: {e}")))
}

/// True when `head` starts with a ustar header for a file called `name`.
pub fn first_entry_is(head: &[u8], name: &str) -> bool {
    if head.len() < 512 || name.len() >= MAX_NAME {
        return false;
    }
    let field = &head[..MAX_NAME];
    field.starts_with(name.as_bytes()) && field[name.len()] == 0 && head[257..262] == *b"ustar"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_entries_read_back_in_order_and_bytes_are_deterministic() {
        let entries: [(&str, &[u8]); 2] = [("manifest.json", b"{}"), ("model.onnx", &[1, 2, 3])];
        let tar = write(&entries).unwrap();
        assert_eq!(tar, write(&entries).unwrap());
        assert!(first_entry_is(&tar, "manifest.json"));
        assert!(!first_entry_is(&tar, "manifest.jso"));
        let back = read(&tar).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1], ("model.onnx".to_string(), vec![1, 2, 3]));
    }

    #[test]
    fn links_directories_paths_and_duplicates_are_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_path("card.json").unwrap();
        header.set_size(0);
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_link_name("/etc/passwd").unwrap();
        header.set_cksum();
        builder.append(&header, &[][..]).unwrap();
        let err = read(&builder.into_inner().unwrap()).unwrap_err();
        assert_eq!(err.status(), Status::PackageInvalid);
        assert!(err.message().contains("not a regular file"), "{}", err.message());

        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_path("dir/card.json").unwrap();
        header.set_size(0);
        header.set_cksum();
        builder.append(&header, &[][..]).unwrap();
        let err = read(&builder.into_inner().unwrap()).unwrap_err();
        assert!(err.message().contains("plain file name"), "{}", err.message());

        let twice = write(&[("a", b"1"), ("a", b"2")]).unwrap();
        assert!(read(&twice).unwrap_err().message().contains("twice"));
        assert!(write(&[("../a", b"")]).is_err());
    }

    #[test]
    fn truncated_and_garbage_input_is_refused_not_a_panic() {
        let tar = write(&[("model.onnx", &[7u8; 3000][..])]).unwrap();
        for cut in [1, 100, 511, 512, 1000, 2000, 3500] {
            let result = read(&tar[..cut]);
            if let Err(e) = result {
                assert_eq!(e.status(), Status::PackageInvalid);
            } else {
                // A cut on a block boundary before the entry reads as an empty archive.
                assert!(result.unwrap().is_empty(), "cut at {cut}");
            }
        }
        assert!(read(&[0xffu8; 1024]).is_err());
    }
}
