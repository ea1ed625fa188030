//! Files that hold secrets (voting codes, key files, passphrases): created readable and
//! writable by their owner only.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a file only its owner may read. With `replace` false an existing file
/// is never overwritten.
pub fn write_private(
    path: &Path,
    bytes: &[u8],
    replace: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if replace {
            format!("cannot create {}: {e}", path.display())
        } else {
            format!(
                "cannot create {} (it is never overwritten): {e}",
                path.display()
            )
        }
    })?;
    // A file that existed keeps its mode through `open`: tighten it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// Replaces the file at `path` whole with `bytes` (owner-only), so that a failure at any
/// step leaves the old file as it was: the new contents are written beside it and synced,
/// read back from the disk and compared, and handed to `check` (a key file is opened with
/// its passphrase there); only then are they moved over the old file, and the folder is
/// synced so the move itself survives a power cut. The copy beside is removed on failure.
pub fn replace_private(
    path: &Path,
    bytes: &[u8],
    check: impl FnOnce(&[u8]) -> Result<(), String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let aside = path.with_extension("saving");
    let written = write_private(&aside, bytes, true).and_then(|()| {
        let back = std::fs::read(&aside)
            .map_err(|e| format!("cannot read back {}: {e}", aside.display()))?;
        if back != bytes {
            return Err(format!("{} did not read back as written", aside.display()).into());
        }
        check(&back).map_err(|e| format!("{}: {e}", aside.display()).into())
    });
    if let Err(e) = written {
        // Nothing replaced: the old file stands, and no half-made copy stays beside it.
        if aside.is_file() {
            let _ = std::fs::remove_file(&aside);
        }
        return Err(format!("{e}; {} is unchanged", path.display()).into());
    }
    std::fs::rename(&aside, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    sync_folder(path)
}

/// Syncs the folder holding `path`, so that a file created or moved there stays.
fn sync_folder(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(folder)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot sync the folder {}: {e}", folder.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_that_fails_before_the_move_leaves_the_old_file_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trustee.key");
        let aside = dir.path().join("trustee.saving");
        write_private(&path, b"the old file\n", false).unwrap();
        // The write fails (here the copy beside cannot be created).
        std::fs::create_dir(&aside).unwrap();
        let err = replace_private(&path, b"new", |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("cannot create"), "{err}");
        assert!(
            err.to_string().ends_with("trustee.key is unchanged"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"the old file\n");
        std::fs::remove_dir(&aside).unwrap();
        // The copy read back is refused.
        let mut seen = Vec::new();
        let err = replace_private(&path, b"new", |back| {
            seen = back.to_vec();
            Err("does not open".into())
        })
        .unwrap_err();
        assert_eq!(seen, b"new");
        assert!(err.to_string().contains("does not open"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"the old file\n");
        assert!(!aside.exists());
        // A copy that reads back is moved over the old one, owner-only.
        replace_private(&path, b"new", |_| Ok(())).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!aside.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
