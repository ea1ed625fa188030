//! Chain exports kept on disk, one file per election and tip: the export is built once
//! per appended block, whoever asks, and streamed from the file, not held in memory.

use crate::api::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::{EngineError, ExportPart, Node};
use ledger::{BlockHash, ElectionId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The folder of export files, and one lock per election so that a new tip's export is
/// built once.
pub struct Exports {
    dir: PathBuf,
    building: Mutex<HashMap<ElectionId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Exports {
    /// Exports in `dir` (created, readable by the owner only). Files left from an
    /// earlier run are removed: they are rebuilt from the verified chain when asked for.
    pub fn open(dir: PathBuf) -> std::io::Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self {
            dir,
            building: Mutex::new(HashMap::new()),
        })
    }

    /// The folder next to the database `db`.
    fn beside(db: &Path) -> PathBuf {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".exports");
        db.with_file_name(name)
    }

    /// Where exports are kept unless `--exports` says: beside a SQLite file, and in
    /// `ballotchain-exports` in the working directory with PostgreSQL.
    pub fn default_dir(location: &engine::Location) -> PathBuf {
        match location {
            engine::Location::File(path) => Self::beside(path),
            engine::Location::Postgres(_) => PathBuf::from("ballotchain-exports"),
        }
    }

    /// `GET /export`: 304 when the asker has this tip's export already (`If-None-Match`),
    /// otherwise the file, built first if this tip has none yet.
    pub async fn answer(
        &self,
        node: &Node,
        election: ElectionId,
        headers: &HeaderMap,
    ) -> Result<Response, ApiError> {
        let (height, tip, published) = node.export_head(election).await?;
        let etag = etag(election, height, &tip, published);
        let unchanged = crate::api::client_has(headers, &etag);
        let cache = [
            (header::ETAG, etag.clone()),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ];
        if unchanged {
            return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
        }
        // A file may be removed for a newer tip between finding and opening it: then
        // the newer one is found (or built) and sent.
        let mut found = self
            .file_for(node, election, height, &tip, published)
            .await?;
        let file = match tokio::fs::File::open(&found.0).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (height, tip, published) = node.export_head(election).await?;
                found = self
                    .file_for(node, election, height, &tip, published)
                    .await?;
                tokio::fs::File::open(&found.0).await.map_err(internal)?
            }
            Err(e) => return Err(internal(e)),
        };
        let etag = found.1;
        let length = file.metadata().await.map_err(internal)?.len();
        let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
        Ok((
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::CONTENT_LENGTH, length.to_string()),
            ],
            body,
        )
            .into_response())
    }

    /// The file of the export at this tip (with the published result or without), and its
    /// tag; built if missing. The export is read after the tip: if the chain grew (or the
    /// result was published) meanwhile, the file is named for what it holds.
    async fn file_for(
        &self,
        node: &Node,
        election: ElectionId,
        height: u64,
        tip: &BlockHash,
        published: bool,
    ) -> Result<(PathBuf, String), ApiError> {
        let path = self.path(election, height, tip, published);
        if path.exists() {
            return Ok((path, etag(election, height, tip, published)));
        }
        let lock = self
            .building
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(election)
            .or_default()
            .clone();
        let _building = lock.lock().await;
        if path.exists() {
            return Ok((path, etag(election, height, tip, published)));
        }
        // Read a block at a time and written as read: a million votes' chain is never in
        // memory whole. Into its own partial file (a build whose request timed out may
        // still run), named for the head it ends at once that is known.
        let partial = self.dir.join(format!(
            "{}-{}.partial",
            election.0,
            hex::encode(rand::random::<[u8; 8]>())
        ));
        let (parts, mut arriving) = tokio::sync::mpsc::channel(2);
        let writer = tokio::task::spawn_blocking({
            let partial = partial.clone();
            move || {
                let written = write_parts(&partial, &mut arriving);
                // Cut short (the reader failed, or the request went away): no trace left.
                if !matches!(written, Ok(true)) {
                    let _ = std::fs::remove_file(&partial);
                }
                written
            }
        });
        let read = node.export_parts(election, parts).await;
        let written = writer
            .await
            .map_err(|e| internal(std::io::Error::other(e)))?;
        let (height, tip, published) = match (read, written) {
            (Ok(head), Ok(true)) => head,
            (read, written) => {
                read?;
                written.map_err(internal)?;
                return Err(internal(std::io::Error::other("the export ended early")));
            }
        };
        let path = self.path(election, height, &tip, published);
        let (dir, target) = (self.dir.clone(), path.clone());
        let prefix = format!("{}-", election.0);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::rename(&partial, &target)?;
            // Older tips' files of this election are never asked for again.
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(&prefix) && name.ends_with(".json") && entry.path() != target {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| internal(std::io::Error::other(e)))?
        .map_err(internal)?;
        tracing::info!(election = election.0, height, "chain export written");
        Ok((path, etag(election, height, &tip, published)))
    }

    fn path(&self, election: ElectionId, height: u64, tip: &BlockHash, published: bool) -> PathBuf {
        let result = if published { "-result" } else { "" };
        self.dir
            .join(format!("{}-{height}-{tip}{result}.json", election.0))
    }
}

/// Writes the parts of an export, as they arrive, into the file `partial`: true once the
/// last part is written and on disk, false when the parts stopped before it.
fn write_parts(
    partial: &Path,
    arriving: &mut tokio::sync::mpsc::Receiver<ExportPart>,
) -> std::io::Result<bool> {
    let out = std::io::BufWriter::new(std::fs::File::create(partial)?);
    let mut export = match arriving.blocking_recv() {
        Some(ExportPart::Start(genesis, hash)) => {
            ledger::ExportWriter::start(out, &genesis, &hash)?
        }
        Some(_) => return Err(std::io::Error::other("a block before the genesis")),
        None => return Ok(false),
    };
    while let Some(part) = arriving.blocking_recv() {
        match part {
            ExportPart::Block(block) => export.block(&block)?,
            ExportPart::End(result) => {
                let out = export.finish(result.as_ref())?;
                out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                return Ok(true);
            }
            ExportPart::Start(..) => return Err(std::io::Error::other("a second start")),
        }
    }
    Ok(false)
}

fn etag(election: ElectionId, height: u64, tip: &BlockHash, published: bool) -> String {
    let tip = tip.to_string();
    let result = if published { "-result" } else { "" };
    format!("\"{}-{height}-{}{result}\"", election.0, &tip[..24])
}

fn internal(e: std::io::Error) -> ApiError {
    EngineError::Internal(format!("chain export file: {e}")).into()
}
