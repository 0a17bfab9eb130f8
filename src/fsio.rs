//! The filesystem adapter: reads that name the path in their error, and atomic writes (a
//! temporary file in the same directory, then a rename), so a crash or Ctrl-C never leaves a
//! half-written file behind.

use std::io::Write as _;
use std::path::Path;

use crate::error::Error;

pub fn read_to_string(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))
}

/// The file's content, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Replaces `path` with `contents` atomically, creating parent directories as needed.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".devboot-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    temp.write_all(contents)
        .map_err(|e| Error::io("write", temp.path().to_owned(), e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        // Keep the permissions of the file being replaced (an executable stays executable).
        let _ = std::fs::set_permissions(temp.path(), meta.permissions());
    }
    temp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
        assert_eq!(read_optional(&dir.path().join("missing")).unwrap(), None);
    }
}
