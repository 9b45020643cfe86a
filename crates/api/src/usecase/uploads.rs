//! Files streamed into the stores within the resource bounds: at most `KAFKAML_MAX_UPLOAD_BYTES`
//! per upload, counted while the bytes arrive, and never leaving the data volume less than
//! `KAFKAML_MIN_FREE_DISK_BYTES` free, checked before the first byte and every
//! [`FREE_SPACE_CHECK_EVERY`] bytes. A refused or interrupted upload leaves no file: its
//! [`TempUpload`] removes the temporary file when dropped.

use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::usecase::{Ctx, Error};

/// How often, in bytes written, the free space is checked again during an upload.
pub const FREE_SPACE_CHECK_EVERY: u64 = 4 * 1024 * 1024;

/// The bounds of what is written to the data volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Most bytes of files one upload may carry (`KAFKAML_MAX_UPLOAD_BYTES`).
    pub max_bytes: u64,
    /// Free space the data volume keeps (`KAFKAML_MIN_FREE_DISK_BYTES`).
    pub min_free_disk: u64,
}

impl UploadLimits {
    /// `Ok` when `free` bytes are free and writing `more` bytes keeps the margin.
    pub fn check_free(&self, free: u64, more: u64) -> Result<(), Error> {
        if free < self.min_free_disk.saturating_add(more) {
            tracing::warn!(free, margin = self.min_free_disk, "refused a write: the data volume is nearly full");
            return Err(Error::DiskFull { free, margin: self.min_free_disk });
        }
        Ok(())
    }
}

/// A temporary file of the artifact store holding (part of) an upload. It stays locked while
/// held, so a store opening meanwhile leaves it alone, and it is removed when dropped (once it has
/// been committed, nothing is left to remove).
#[derive(Debug)]
pub struct TempUpload {
    path: PathBuf,
    _lock: std::fs::File,
}

impl TempUpload {
    /// Where the bytes are.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(path = %self.path.display(), error = %e, "could not remove a temporary upload file");
            }
            _ => {}
        }
    }
}

/// The bytes of one upload's files so far, counted against [`UploadLimits::max_bytes`].
#[derive(Debug, Default)]
pub struct UploadBudget {
    written: u64,
}

impl UploadBudget {
    /// The bytes received so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

fn storage_error(ctx: &Ctx, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::StorageFull {
        let free = ctx.store.free_space().unwrap_or(0);
        return Error::DiskFull { free, margin: ctx.config.uploads.min_free_disk };
    }
    Error::Io(e)
}

/// Streams `body` (one file of an upload) into a new temporary file of the artifact store,
/// counting its bytes in `budget`. Fails with [`Error::TooLarge`] past the size limit,
/// [`Error::DiskFull`] when the margin of free space would be crossed, and
/// [`Error::BadRequest`] (with `interrupted` first) when the body fails; in every case the
/// temporary file is removed.
pub async fn receive_file<S, E>(
    ctx: &Ctx,
    budget: &mut UploadBudget,
    mut body: S,
    interrupted: &str,
) -> Result<TempUpload, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let limits = ctx.config.uploads;
    limits.check_free(ctx.store.free_space()?, 0)?;
    let (path, lock) = ctx.store.create_temp()?;
    let writer = lock.try_clone()?;
    let temp = TempUpload { path, _lock: lock };
    let mut file = tokio::fs::File::from_std(writer);
    let mut next_check = budget.written.saturating_add(FREE_SPACE_CHECK_EVERY);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("{interrupted}: {e}")))?;
        budget.written = budget.written.saturating_add(chunk.len() as u64);
        if budget.written > limits.max_bytes {
            tracing::info!(limit = limits.max_bytes, "refused an upload: larger than KAFKAML_MAX_UPLOAD_BYTES");
            return Err(Error::TooLarge { limit: limits.max_bytes });
        }
        if budget.written >= next_check {
            limits.check_free(ctx.store.free_space()?, chunk.len() as u64)?;
            next_check = budget.written.saturating_add(FREE_SPACE_CHECK_EVERY);
        }
        file.write_all(&chunk).await.map_err(|e| storage_error(ctx, e))?;
    }
    file.flush().await.map_err(|e| storage_error(ctx, e))?;
    Ok(temp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_space_margin_is_kept() {
        let limits = UploadLimits { max_bytes: 100, min_free_disk: 1000 };
        assert!(limits.check_free(1000, 0).is_ok());
        assert!(limits.check_free(1500, 500).is_ok());
        assert!(matches!(limits.check_free(999, 0), Err(Error::DiskFull { free: 999, margin: 1000 })));
        assert!(matches!(limits.check_free(1499, 500), Err(Error::DiskFull { .. })));
        assert!(matches!(limits.check_free(10, u64::MAX), Err(Error::DiskFull { .. })));
        let none = UploadLimits { max_bytes: 100, min_free_disk: 0 };
        assert!(none.check_free(0, 0).is_ok());
    }
}
