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
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
