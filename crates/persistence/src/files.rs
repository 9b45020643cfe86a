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

impl ArtifactStore {
    /// A store under `data_dir`; creates `data_dir/trained` when missing.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let trained = data_dir.join("trained");
        std::fs::create_dir_all(&trained)?;
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
}
