//! State in object storage, for ephemeral CI runners: one object per step record
//! (`PREFIX/steps/<hash of step id>.json`), so runners sharing it never overwrite each
//! other's records, and a fresh runner knows what is already built and published.

use futures::{StreamExt, TryStreamExt};
use opendal::Operator;
use serde::{Deserialize, Serialize};

use super::{BackendConfig, block_on, join};
use crate::record::{RecordSink, StepRecord};

pub struct RemoteState {
    backend: BackendConfig,
    op: Operator,
    prefix: String,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    id: String,
    rec: StepRecord,
}

impl RemoteState {
    pub fn open(backend: &BackendConfig, prefix: &str) -> Result<RemoteState, String> {
        // Never hand opendal a prefix with `..`: its fs service reports it as NotFound, which
        // its recursive lister retries forever (100% CPU). The manifest check refuses it
        // first; this keeps any other caller safe.
        crate::manifest::locations::check_prefix(prefix)
            .map_err(|why| format!("backend `{}`: invalid state prefix `{prefix}`: {why}", backend.name))?;
        Ok(RemoteState { backend: backend.clone(), op: backend.connect()?, prefix: join(prefix, "steps/") })
    }

    fn object(&self, id: &str) -> String {
        join(&self.prefix, &format!("{}.json", &blake3::hash(id.as_bytes()).to_hex()[..32]))
    }
}

impl RecordSink for RemoteState {
    /// Every record stored remotely.
    fn load(&self) -> Result<Vec<(String, StepRecord)>, String> {
        block_on(async {
            let entries = match self.op.list_with(&self.prefix).recursive(true).await {
                Ok(e) => e,
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(self.backend.describe_err(&e)),
            };
            let paths: Vec<String> =
                entries.iter().filter(|e| e.metadata().is_file()).map(|e| e.path().to_string()).collect();
            futures::stream::iter(paths)
                .map(|p| async move {
                    let bytes = self.op.read(&p).await.map_err(|e| self.backend.describe_err(&e))?;
                    let entry: Entry = serde_json::from_slice(&bytes.to_vec())
                        .map_err(|e| format!("backend `{}`: state object {p} is unreadable: {e}", self.backend.name))?;
                    Ok::<_, String>((entry.id, entry.rec))
                })
                .buffer_unordered(16)
                .try_collect()
                .await
        })
    }

    fn put(&self, id: &str, rec: &StepRecord) -> Result<(), String> {
        let body = serde_json::to_vec(&Entry { id: id.to_string(), rec: rec.clone() }).expect("json");
        block_on(self.op.write(&self.object(id), body)).map(drop).map_err(|e| self.backend.describe_err(&e))
    }
}
