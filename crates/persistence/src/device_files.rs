//! The file store of IoT devices: `<data dir>/devices/<token>/model.tflite` and `autoexec.be`,
//! what a Tasmota device downloads after a deployment (decisions.md item 6).
//!
//! Files are written to a temporary name in the device's folder (`.<name>.part`, locked while it
//! is written) and renamed into place, so a device never downloads half a file; temporary files a
//! crash left behind are removed when the store opens. Only device tokens (8 hexadecimal characters) name
//! folders: anything else is refused, so no path can leave the store.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kafkaml_domain::iot::is_token;

use crate::files::{create_locked, remove_leftovers};

/// A file of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceFile {
    /// The TinyML model, `model.tflite`.
    Model,
    /// The Berry script run at start, `autoexec.be`.
    Script,
}

impl DeviceFile {
    /// The file name the device uses.
    pub fn file_name(self) -> &'static str {
        match self {
            DeviceFile::Model => "model.tflite",
            DeviceFile::Script => "autoexec.be",
        }
    }
}

/// The devices' folders under a data directory.
#[derive(Debug, Clone)]
pub struct DeviceFileStore {
    root: PathBuf,
}

fn not_a_token(token: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("'{token}' is not a device token"))
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl DeviceFileStore {
    /// A store under `data_dir` (`data_dir/devices`, created when missing); removes the temporary
    /// files (`.*.part`) that an interrupted write left in the devices' folders.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("devices");
        crate::files::private_dir(&root)?;
        let mut removed = 0;
        for entry in std::fs::read_dir(&root)? {
            let entry = entry?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                removed += remove_leftovers(&entry.path(), |name| name.starts_with('.') && name.ends_with(".part"))?;
            }
        }
        if removed > 0 {
            tracing::info!(removed, dir = %root.display(), "removed the temporary files of interrupted writes");
        }
        Ok(DeviceFileStore { root })
    }

    /// The bytes available on the store's file system ([`crate::files::free_space`]).
    pub fn free_space(&self) -> io::Result<u64> {
        crate::files::free_space(&self.root)
    }

    /// The folder of device `token`.
    pub fn dir(&self, token: &str) -> io::Result<PathBuf> {
        if is_token(token) {
            Ok(self.root.join(token))
        } else {
            Err(not_a_token(token))
        }
    }

    /// The path of a file of device `token`.
    pub fn path(&self, token: &str, file: DeviceFile) -> io::Result<PathBuf> {
        Ok(self.dir(token)?.join(file.file_name()))
    }

    /// Creates the (empty) folder of a new device; a leftover folder of that token is emptied.
    pub fn create(&self, token: &str) -> io::Result<()> {
        let dir = self.dir(token)?;
        ignore_missing(std::fs::remove_dir_all(&dir))?;
        std::fs::create_dir_all(dir)
    }

    /// Moves a device's folder when its token changes (creates the new one when there was none).
    pub fn rename(&self, old: &str, new: &str) -> io::Result<()> {
        let (from, to) = (self.dir(old)?, self.dir(new)?);
        if from == to {
            return std::fs::create_dir_all(to);
        }
        ignore_missing(std::fs::remove_dir_all(&to))?;
        match std::fs::rename(&from, &to) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(to),
            other => other,
        }
    }

    /// Removes a device's folder with its files; a missing folder is fine.
    pub fn remove(&self, token: &str) -> io::Result<()> {
        ignore_missing(std::fs::remove_dir_all(self.dir(token)?))
    }

    /// Writes a file of device `token` atomically (temporary file, then rename), creating the
    /// folder when needed.
    pub fn write(&self, token: &str, file: DeviceFile, bytes: &[u8]) -> io::Result<()> {
        let dir = self.dir(token)?;
        std::fs::create_dir_all(&dir)?;
        let temp = dir.join(format!(".{}.part", file.file_name()));
        // A leftover of a crash would make the exclusive creation fail.
        ignore_missing(std::fs::remove_file(&temp))?;
        // Locked until renamed, so a store opening meanwhile (another replica) leaves it alone.
        let mut handle = create_locked(&temp)?;
        let written = handle.write_all(bytes).and_then(|()| std::fs::rename(&temp, dir.join(file.file_name())));
        drop(handle);
        written.inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_live_in_the_device_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeviceFileStore::open(dir.path()).unwrap();
        store.create("0000ABCD").unwrap();
        assert!(dir.path().join("devices/0000ABCD").is_dir());
        store.write("0000ABCD", DeviceFile::Model, b"tflite").unwrap();
        store.write("0000ABCD", DeviceFile::Script, b"print(1)").unwrap();
        assert_eq!(std::fs::read(dir.path().join("devices/0000ABCD/model.tflite")).unwrap(), b"tflite");
        assert_eq!(std::fs::read(store.path("0000ABCD", DeviceFile::Script).unwrap()).unwrap(), b"print(1)");

        store.rename("0000ABCD", "1111ABCD").unwrap();
        assert!(!dir.path().join("devices/0000ABCD").exists());
        assert_eq!(std::fs::read(store.path("1111ABCD", DeviceFile::Model).unwrap()).unwrap(), b"tflite");
        store.rename("2222ABCD", "3333ABCD").unwrap();
        assert!(dir.path().join("devices/3333ABCD").is_dir());

        store.remove("1111ABCD").unwrap();
        assert!(!dir.path().join("devices/1111ABCD").exists());
        store.remove("1111ABCD").unwrap();
    }

    #[test]
    fn leftover_temporary_files_are_removed_when_the_store_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeviceFileStore::open(dir.path()).unwrap();
        store.write("0000ABCD", DeviceFile::Script, b"print(1)").unwrap();
        let folder = dir.path().join("devices/0000ABCD");
        std::fs::write(folder.join(".model.tflite.part"), b"half").unwrap();
        std::fs::write(folder.join(".autoexec.be.part"), b"half").unwrap();
        DeviceFileStore::open(dir.path()).unwrap();
        let mut names: Vec<String> =
            std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["autoexec.be"]);
        // A leftover of the same name never blocks the next write.
        std::fs::write(folder.join(".model.tflite.part"), b"half").unwrap();
        store.write("0000ABCD", DeviceFile::Model, b"tflite").unwrap();
        assert_eq!(std::fs::read(folder.join("model.tflite")).unwrap(), b"tflite");
        assert!(store.free_space().unwrap() > 0);
    }

    #[test]
    fn only_tokens_name_folders() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeviceFileStore::open(dir.path()).unwrap();
        for bad in ["..", "../x", "", "abcdefgh", "0000ABCD/..", "0000ABC"] {
            let e = store.write(bad, DeviceFile::Model, b"x").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(store.remove(bad).is_err());
        }
    }
}
