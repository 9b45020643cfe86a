//! The file store for training artifacts: `<data dir>/trained/<result id>.h5|.pth|.png`.
//!
//! Uploads are streamed by the caller into a temporary file created with [`ArtifactStore::temp_path`]
//! in the same directory, then moved into place with [`ArtifactStore::commit`] (an atomic rename).

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

impl ArtifactStore {
    /// A store under `data_dir`; creates `data_dir/trained` (mode 0700) when missing.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let trained = data_dir.join("trained");
        private_dir(data_dir)?;
        private_dir(&trained)?;
        Ok(ArtifactStore { trained })
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
