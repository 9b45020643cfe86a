//! The file store for training artifacts: `<data dir>/trained/<result id>.h5|.pth|.png`.
//!
//! Uploads are streamed by the caller into a temporary file created with
//! [`ArtifactStore::create_temp`] in the same directory (`.upload-<uuid>.part`, locked while it is
//! written), then moved into place with [`ArtifactStore::commit`] (an atomic rename). Temporary files
//! a crash left behind are removed when the store opens ([`remove_leftovers`]); those another
//! process still holds locked (a replica sharing the volume) are left alone.

use std::io;
use std::path::{Path, PathBuf};

use kafkaml_domain::Framework;

/// Trained models and confusion matrices under a data directory.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    trained: PathBuf,
}

/// The kind of an artifact of a training result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    /// The trained model (`.h5` for TensorFlow, `.pth` for PyTorch).
    Model(Framework),
    /// The confusion-matrix image (`.png`).
    ConfusionMatrix,
}

impl Artifact {
    fn extension(self) -> &'static str {
        match self {
            Artifact::Model(Framework::Tf) => "h5",
            Artifact::Model(Framework::Pth) => "pth",
            Artifact::ConfusionMatrix => "png",
        }
    }
}

/// Creates `dir` (and its parents) when missing and makes it its owner's only (0700): trained
/// models, device files and the SQLite database are nobody else's to read. A directory whose mode
/// cannot be changed (a volume owned by another user) is used as it is, with a warning.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700);
    Ok(())
}

/// Makes an existing file its owner's only (0600), as [`private_dir`] does for directories.
pub fn private_file(path: &Path) {
    restrict(path, 0o600);
}

fn restrict(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(path = %path.display(), error = %e, "could not make this readable by its owner only");
    }
}

/// The bytes available to unprivileged writers on the file system holding `path` (`statvfs`:
/// `f_bavail × f_frsize`).
pub fn free_space(path: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Creates the new file `path` (mode 0600) and locks it (an exclusive `flock`) for as long as the
/// returned handle, or a clone of it, stays open: [`remove_leftovers`] leaves a locked file alone.
pub fn create_locked(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    lock(&file, path)?;
    Ok(file)
}

fn lock(file: &std::fs::File, path: &Path) -> io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        if e == rustix::io::Errno::WOULDBLOCK {
            io::Error::new(io::ErrorKind::WouldBlock, format!("{} is locked by another writer", path.display()))
        } else {
            e.into()
        }
    })
}

/// Removes the files of `dir` whose names `is_temp` accepts and that no process holds locked
/// (temporary files of uploads a crash interrupted); returns how many it removed. A file that
/// cannot be opened or removed is logged and skipped.
pub fn remove_leftovers(dir: &Path, is_temp: impl Fn(&str) -> bool) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(&is_temp) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        // A writer holds its temporary file locked; taking the lock proves nobody writes it.
        let free = std::fs::OpenOptions::new().read(true).open(&path).and_then(|f| lock(&f, &path));
        let outcome = free.and_then(|()| std::fs::remove_file(&path));
        match outcome {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tracing::debug!(path = %path.display(), "temporary file in use, kept");
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not remove a leftover temporary file"),
        }
    }
    Ok(removed)
}

/// Whether `name` is a temporary upload file of the artifact store (`.upload-*.part`).
fn is_upload_temp(name: &str) -> bool {
    name.starts_with(".upload-") && name.ends_with(".part")
}

impl ArtifactStore {
    /// A store under `data_dir`; creates `data_dir/trained` (mode 0700) when missing and removes
    /// the temporary files of uploads that a crash interrupted.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let trained = data_dir.join("trained");
        private_dir(data_dir)?;
        private_dir(&trained)?;
        let removed = remove_leftovers(&trained, is_upload_temp)?;
        if removed > 0 {
            tracing::info!(removed, dir = %trained.display(), "removed the temporary files of interrupted uploads");
        }
        Ok(ArtifactStore { trained })
    }

    /// The bytes available on the store's file system ([`free_space`]).
    pub fn free_space(&self) -> io::Result<u64> {
        free_space(&self.trained)
    }

    /// Creates a fresh temporary file for streaming an upload, locked while the returned handle
    /// (or a clone) is open; returns its path and the handle.
    pub fn create_temp(&self) -> io::Result<(PathBuf, std::fs::File)> {
        let path = self.temp_path(&uuid::Uuid::new_v4().simple().to_string());
        let file = create_locked(&path)?;
        Ok((path, file))
    }

    /// The relative name stored in the database (`trained/<id>.<ext>`), as the reference does.
    pub fn relative_name(result_id: i32, artifact: Artifact) -> String {
        format!("trained/{result_id}.{}", artifact.extension())
    }

    /// The absolute path of an artifact.
    pub fn path(&self, result_id: i32, artifact: Artifact) -> PathBuf {
        self.trained.join(format!("{result_id}.{}", artifact.extension()))
    }

    /// A fresh temporary path in the store's directory for streaming an upload.
    pub fn temp_path(&self, unique: &str) -> PathBuf {
        self.trained.join(format!(".upload-{unique}.part"))
    }

    /// Moves a finished temporary file into place, replacing an older artifact.
    pub fn commit(&self, temp: &Path, result_id: i32, artifact: Artifact) -> io::Result<PathBuf> {
        let target = self.path(result_id, artifact);
        std::fs::rename(temp, &target)?;
        Ok(target)
    }

    /// Deletes every artifact of a result (`.h5`, `.pth`, `.png`); missing files are fine.
    pub fn delete_all(&self, result_id: i32) -> io::Result<()> {
        for artifact in [Artifact::Model(Framework::Tf), Artifact::Model(Framework::Pth), Artifact::ConfusionMatrix] {
            match std::fs::remove_file(self.path(result_id, artifact)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        for (i, a) in [Artifact::Model(Framework::Tf), Artifact::Model(Framework::Pth), Artifact::ConfusionMatrix]
            .into_iter()
            .enumerate()
        {
            let tmp = store.temp_path(&i.to_string());
            std::fs::write(&tmp, b"x").unwrap();
            store.commit(&tmp, 7, a).unwrap();
        }
        assert!(store.path(7, Artifact::ConfusionMatrix).exists());
        assert_eq!(ArtifactStore::relative_name(7, Artifact::Model(Framework::Pth)), "trained/7.pth");
        store.delete_all(7).unwrap();
        assert!(!store.path(7, Artifact::Model(Framework::Tf)).exists());
        assert!(!store.path(7, Artifact::Model(Framework::Pth)).exists());
        assert!(!store.path(7, Artifact::ConfusionMatrix).exists());
    }

    #[test]
    fn leftover_temporary_files_are_removed_when_the_store_opens_unless_locked() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        let trained = dir.path().join("trained");
        let leftover = store.temp_path("crashed");
        std::fs::write(&leftover, b"half a model").unwrap();
        let (in_use, handle) = store.create_temp().unwrap();
        std::fs::write(trained.join("3.h5"), b"model").unwrap();
        std::fs::write(trained.join(".upload-other.txt"), b"not ours").unwrap();

        ArtifactStore::open(dir.path()).unwrap();
        assert!(!leftover.exists(), "a crashed upload's file stays");
        assert!(in_use.exists(), "a file being written was removed");
        assert!(trained.join("3.h5").exists() && trained.join(".upload-other.txt").exists());

        drop(handle);
        ArtifactStore::open(dir.path()).unwrap();
        assert!(!in_use.exists());
    }

    #[test]
    fn free_space_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        assert!(store.free_space().unwrap() > 0);
        assert!(free_space(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn stores_and_files_are_their_owners_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        ArtifactStore::open(&data).unwrap();
        crate::DeviceFileStore::open(&data).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for folder in [data.clone(), data.join("trained"), data.join("devices")] {
            assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        }
        let file = data.join("kafkaml.sqlite3");
        std::fs::write(&file, b"").unwrap();
        private_file(&file);
        assert_eq!(mode(&file), 0o600);
    }
}
