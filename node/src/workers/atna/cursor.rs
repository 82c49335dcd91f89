//! The ATNA export's cursor: the sequence number of the next audit event to deliver, in
//! `HOME/atna/cursor` (decimal text), replaced atomically and synced to disk after every
//! confirmed batch (write a temporary file, fsync it, rename it over the old one, fsync the
//! folder). A small file and not a RocksDB: one number, written once per batch.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The cursor file is bigger than any number.
const CURSOR_BYTES_MAX: u64 = 64;

/// The cursor could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// The file system failed.
    #[error("ATNA cursor {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file does not hold a number.
    #[error(
        "ATNA cursor {path} does not hold a sequence number: repair or delete it (deleting re-exports every event)"
    )]
    Corrupt {
        /// The file.
        path: String,
    },
}

/// The cursor in its folder.
#[derive(Debug)]
pub struct Cursor {
    folder: PathBuf,
    next: u64,
}

impl Cursor {
    /// Opens the cursor in `folder` (created if missing); a new cursor starts at event 0.
    pub fn open(folder: &Path) -> Result<Cursor, CursorError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |error| CursorError::Io { path, error }
        };
        std::fs::create_dir_all(folder).map_err(io(folder))?;
        let file = folder.join("cursor");
        let next = match std::fs::metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&file)(e)),
            Ok(meta) if meta.len() > CURSOR_BYTES_MAX => {
                return Err(CursorError::Corrupt { path: file.display().to_string() });
            }
            Ok(_) => {
                let text = std::fs::read_to_string(&file).map_err(io(&file))?;
                text.trim().parse().map_err(|_| CursorError::Corrupt { path: file.display().to_string() })?
            }
        };
        Ok(Cursor { folder: folder.to_path_buf(), next })
    }

    /// The next event to deliver.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Moves the cursor to `next` and syncs it to disk before returning.
    pub fn advance(&mut self, next: u64) -> Result<(), CursorError> {
        assert!(next >= self.next, "the ATNA cursor only moves forward ({} to {next})", self.next);
        let file = self.folder.join("cursor");
        let tmp = self.folder.join("cursor.tmp");
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |error| CursorError::Io { path, error }
        };
        let mut out = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        out.write_all(format!("{next}\n").as_bytes()).map_err(io(&tmp))?;
        out.sync_all().map_err(io(&tmp))?;
        drop(out);
        std::fs::rename(&tmp, &file).map_err(io(&file))?;
        std::fs::File::open(&self.folder).and_then(|dir| dir.sync_all()).map_err(io(&self.folder))?;
        self.next = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_survives_a_reopen_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("atna");
        let mut cursor = Cursor::open(&folder).unwrap();
        assert_eq!(cursor.next(), 0);
        cursor.advance(17).unwrap();
        cursor.advance(517).unwrap();
        assert_eq!(Cursor::open(&folder).unwrap().next(), 517);
        assert!(!folder.join("cursor.tmp").exists());
        std::fs::write(folder.join("cursor"), "seventeen").unwrap();
        let error = Cursor::open(&folder).unwrap_err().to_string();
        assert!(error.contains("does not hold a sequence number"), "{error}");
    }
}
