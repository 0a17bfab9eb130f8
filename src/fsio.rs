//! The filesystem adapter: reads that name the path in their error, and atomic writes (a
//! temporary file in the same directory, then a rename), so a crash or Ctrl-C never leaves a
//! half-written file behind.

use std::io::Write as _;
use std::path::Path;

use crate::error::Error;

/// The most devboot reads of any one file it is given (profiles, `.dockerignore`, generated
/// files, state): far above any real one, far below what would exhaust memory.
pub const READ_LIMIT: u64 = 8 * 1024 * 1024;

pub fn read_to_string(path: &Path) -> Result<String, Error> {
    String::from_utf8(read(path)?).map_err(|e| {
        Error::io(
            "read",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        )
    })
}

/// The file's content; a missing file is an error. See [`read_optional`].
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    read_optional(path)?.ok_or_else(|| {
        Error::io(
            "read",
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })
}

/// The file's content, or `None` when it does not exist. Only regular files are read (not a
/// device such as `/dev/zero`, a FIFO or a directory), and at most [`READ_LIMIT`] bytes.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io("read", path, e))?;
    if !meta.is_file() {
        return Err(Error::io(
            "read",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    file.take(READ_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > READ_LIMIT {
        return Err(Error::io(
            "read",
            path,
            std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("larger than devboot reads ({} MiB)", READ_LIMIT >> 20),
            ),
        ));
    }
    Ok(Some(bytes))
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

    #[test]
    fn only_bounded_regular_files_are_read() {
        let error = read_optional(Path::new("/dev/zero")).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(READ_LIMIT + 1)
            .unwrap();
        let error = read_optional(&big).unwrap_err();
        assert!(
            error.to_string().contains("larger than devboot reads"),
            "{error}"
        );
        let error = read_to_string(dir.path()).unwrap_err();
        assert!(error.to_string().contains("cannot read"), "{error}");
    }
}
