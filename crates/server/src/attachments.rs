//! Attachments' bytes on disk, in the data directory's `attachments` folder:
//!
//! - `attachments/<first 2 hex>/<sha256>`: verified bytes, one file per digest however many
//!   users uploaded them. A file appears under this name only by a rename of a complete,
//!   synced, verified upload, so a crash never leaves a half file under it.
//! - `attachments/partial/<sha256>-<user id>`: an upload in progress, one per user and
//!   digest, so two people sending the same file never write into each other's. Each chunk
//!   is appended and synced before it is acknowledged, so a resumed upload continues from
//!   bytes that are really there.
//!
//! What is known about the files (which are stored, who uploaded them) is in the database;
//! this module only moves bytes. Everything here is blocking `std::fs` work: the HTTP layer
//! runs it on tokio's blocking pool. Appends hold an exclusive lock on the partial file
//! (`flock`), so two requests of the same user for the same digest (two tabs, a retry
//! racing the original) take turns even across server processes sharing the folder.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use domain::Sha256;
use sha2::Digest as _;
use uuid::Uuid;

/// The folder inside the data directory.
pub const FOLDER: &str = "attachments";

/// The folder of uploads in progress, inside [`FOLDER`]. Never two hex digits, so it cannot
/// clash with a folder of stored files.
pub const PARTIAL: &str = "partial";

/// How much of a file is hashed at a time: the whole file never sits in memory.
const READ_BUFFER: usize = 64 * 1024;

/// How often an append opens its partial file again when another request finished or
/// dropped it between the open and the lock. Once is the expected worst case.
const OPEN_ATTEMPTS: usize = 4;

/// The attachments folder of one data directory.
#[derive(Clone, Debug)]
pub struct AttachmentFiles {
    root: PathBuf,
}

/// One chunk of an upload.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    /// The digest the whole file must have.
    pub sha256: &'a Sha256,
    /// Who uploads it.
    pub user: Uuid,
    /// Where the chunk starts; must be the partial file's length.
    pub offset: u64,
    /// The whole file's length. The caller has checked `offset + bytes.len() <= size`.
    pub size: u64,
    /// The chunk.
    pub bytes: &'a [u8],
}

/// What appending a chunk did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// The chunk does not start where the partial upload ends: nothing was written, and the
    /// client resumes from `offset`.
    OffsetMismatch {
        /// How many bytes the server holds.
        offset: u64,
    },
    /// Written; the upload is not complete yet.
    Partial {
        /// How many bytes the server holds now.
        offset: u64,
    },
    /// The upload is complete and its digest matches: the bytes are stored under their
    /// final name (once, whoever else uploaded them too).
    Stored,
    /// The upload is complete but its bytes have another digest: the partial upload was
    /// deleted and nothing is stored.
    HashMismatch,
}

impl AttachmentFiles {
    /// The attachments folder of `data_dir` (created on the first upload).
    pub fn new(data_dir: &Path) -> AttachmentFiles {
        AttachmentFiles {
            root: data_dir.join(FOLDER),
        }
    }

    /// Where the verified bytes of `sha256` are stored.
    pub fn stored_path(&self, sha256: &Sha256) -> PathBuf {
        let hex = sha256.as_str();
        self.root.join(hex.get(..2).unwrap_or(hex)).join(hex)
    }

    /// Where `user`'s upload of `sha256` in progress is.
    fn partial_path(&self, sha256: &Sha256, user: Uuid) -> PathBuf {
        self.root
            .join(PARTIAL)
            .join(format!("{}-{}", sha256.as_str(), user.as_hyphenated()))
    }

    /// How many bytes of `user`'s upload of `sha256` the server holds (0 when none).
    pub fn partial_len(&self, sha256: &Sha256, user: Uuid) -> io::Result<u64> {
        match fs::metadata(self.partial_path(sha256, user)) {
            Ok(metadata) => Ok(metadata.len()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(error),
        }
    }

    /// Appends a chunk to its partial upload and, when that completes the file, verifies the
    /// digest and moves the bytes into place (see [`Appended`]).
    pub fn append(&self, chunk: Chunk<'_>) -> io::Result<Appended> {
        let path = self.partial_path(chunk.sha256, chunk.user);
        let Some(mut file) = self.open_locked(&path, chunk.offset == 0)? else {
            // Nothing to resume from: the client starts again at 0.
            return Ok(Appended::OffsetMismatch { offset: 0 });
        };
        let held = file.metadata()?.len();
        if held != chunk.offset {
            return Ok(Appended::OffsetMismatch { offset: held });
        }
        file.seek(SeekFrom::End(0))?;
        file.write_all(chunk.bytes)?;
        // The answer tells the client these bytes need not be sent again.
        file.sync_data()?;
        let offset = held.saturating_add(u64::try_from(chunk.bytes.len()).unwrap_or(u64::MAX));
        if offset < chunk.size {
            return Ok(Appended::Partial { offset });
        }
        if digest_of(&mut file)? != *chunk.sha256 {
            fs::remove_file(&path)?;
            return Ok(Appended::HashMismatch);
        }
        let stored = self.stored_path(chunk.sha256);
        if stored.is_file() {
            // The same bytes are already stored (another uploader): keep one copy.
            fs::remove_file(&path)?;
            return Ok(Appended::Stored);
        }
        let folder = stored
            .parent()
            .ok_or_else(|| io::Error::other("a stored attachment's path has no folder"))?;
        fs::create_dir_all(folder)?;
        fs::rename(&path, &stored)?;
        // The rename is durable only once the folder that gained the name is synced.
        File::open(folder)?.sync_all()?;
        Ok(Appended::Stored)
    }

    /// The partial file at `path`, opened for reading and appending and locked, or `None`
    /// when it does not exist and may not be created.
    ///
    /// Another request may finish (rename) or drop (hash mismatch) the file between the
    /// open and the lock; appending to it then would write into a stored file or a deleted
    /// one, so the lock is kept only when `path` still names the very file locked.
    fn open_locked(&self, path: &Path, create: bool) -> io::Result<Option<File>> {
        if create {
            fs::create_dir_all(self.root.join(PARTIAL))?;
        }
        for _ in 0..OPEN_ATTEMPTS {
            let opened = OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(path);
            let file = match opened {
                Ok(file) => file,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(error),
            };
            file.lock()?;
            match fs::metadata(path) {
                Ok(named) if same_file(&named, &file.metadata()?) => return Ok(Some(file)),
                Ok(_) => continue,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    if create {
                        continue;
                    }
                    return Ok(None);
                }
                Err(error) => return Err(error),
            }
        }
        Err(io::Error::other(
            "the partial upload kept changing while waiting for its lock",
        ))
    }
}

/// The SHA-256 of a file, read from the start in blocks.
fn digest_of(file: &mut File) -> io::Result<Sha256> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(buffer.get(..read).unwrap_or_default());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    Ok(Sha256::from_bytes(&digest))
}

/// Whether two metadata describe the same file (device and inode).
#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Elsewhere there are no inode numbers to compare, so the lock alone is trusted; the
/// server is built for Linux.
#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_of(bytes: &[u8]) -> Sha256 {
        let digest: [u8; 32] = sha2::Sha256::digest(bytes).into();
        Sha256::from_bytes(&digest)
    }

    #[test]
    fn chunks_append_resume_and_land_under_the_digest() {
        let dir = tempfile::TempDir::new().unwrap();
        let files = AttachmentFiles::new(dir.path());
        let bytes: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
        let sha = sha_of(&bytes);
        let user = Uuid::from_u128(7);
        let chunk = |offset: usize, end: usize| Chunk {
            sha256: &sha,
            user,
            offset: offset as u64,
            size: bytes.len() as u64,
            bytes: &bytes[offset..end],
        };
        assert_eq!(files.partial_len(&sha, user).unwrap(), 0);
        // Resuming where nothing was sent starts again at 0, creating nothing.
        assert_eq!(
            files.append(chunk(1000, 2000)).unwrap(),
            Appended::OffsetMismatch { offset: 0 }
        );
        assert!(!dir.path().join(FOLDER).exists());
        assert_eq!(
            files.append(chunk(0, 70_000)).unwrap(),
            Appended::Partial { offset: 70_000 }
        );
        assert_eq!(
            files.append(chunk(0, 70_000)).unwrap(),
            Appended::OffsetMismatch { offset: 70_000 }
        );
        assert_eq!(files.partial_len(&sha, user).unwrap(), 70_000);
        assert_eq!(
            files.append(chunk(70_000, 200_000)).unwrap(),
            Appended::Stored
        );
        let stored = files.stored_path(&sha);
        assert!(stored.starts_with(dir.path().join(FOLDER).join(&sha.as_str()[..2])));
        assert_eq!(fs::read(&stored).unwrap(), bytes);
        assert_eq!(files.partial_len(&sha, user).unwrap(), 0);
    }

    #[test]
    fn bytes_of_another_digest_are_dropped() {
        let dir = tempfile::TempDir::new().unwrap();
        let files = AttachmentFiles::new(dir.path());
        let claimed = sha_of(b"what was promised");
        let chunk = Chunk {
            sha256: &claimed,
            user: Uuid::from_u128(7),
            offset: 0,
            size: 9,
            bytes: b"something",
        };
        assert_eq!(files.append(chunk).unwrap(), Appended::HashMismatch);
        assert!(!files.stored_path(&claimed).exists());
        assert_eq!(files.partial_len(&claimed, chunk.user).unwrap(), 0);
    }
}
