//! The use cases: one function per business operation of the control plane, shared by every door
//! into it (the REST handlers today; commands and the admin site tomorrow).
//!
//! Each takes the [`Ctx`] — the database, the file stores, the outside [`Services`] and the
//! settings resolved at start-up ([`Config`]) — and a typed command, and returns a typed value or
//! an [`Error`]. Nothing here knows HTTP: `crate::error` turns an [`Error`] into a status and a
//! body, in one table.
//!
//! | module | operations |
//! | --- | --- |
//! | [`catalog`] | create, update, delete models and configurations; delete deployments |
//! | [`training`] | deploy a training, stop a result, record Job failures |
//! | [`results`] | the model a training pod fetches, upload a trained model, metrics, delete a result |
//! | [`inference`] | deploy, stop and delete an inference; suggest its input settings |
//! | [`iot`] | create, update, delete devices; push a model to devices |
//! | [`datasources`] | store a datasource; publish one to the control topic |
//! | [`accounts`] | users, passwords, sign-in, sessions, the audit trail's pages |
//! | [`tokens`] | API tokens: create (key shown once), list, revoke, authenticate a key |
//! | [`capability`] | the tokens of the URLs given to pods: sign, verify, which route takes which |
//! | [`uploads`] | files streamed to the stores within the size and free-disk limits |
//!
//! Every mutating operation takes the [`Actor`] that asked for it and records its [`Change`] in
//! the audit trail inside the change's own transaction ([`audit`]).

pub mod accounts;
pub mod audit;
pub mod capability;
pub mod catalog;
pub mod config;
pub mod datasources;
pub mod error;
pub mod inference;
pub mod iot;
pub mod results;
pub mod tokens;
pub mod training;
pub mod uploads;

use std::sync::Arc;

use kafkaml_orchestration::{Cluster, ClusterError};
use kafkaml_persistence::{ArtifactStore, DbConnection, DeviceFileStore, Pool};
use secrecy::ExposeSecret;

pub use audit::{Actor, Change};
pub use config::{Config, NotConfigured};
pub use error::{Error, Missing};

use crate::services::Services;

/// What the use cases work with. Cheap to share: one per application, behind an `Arc`.
pub struct Ctx {
    /// The database pool.
    pool: Pool,
    /// One permit per pooled connection: callers wait for a connection here, asynchronously,
    /// instead of each parking a blocking thread in the pool.
    db_slots: Arc<tokio::sync::Semaphore>,
    /// Trained models and confusion matrices.
    pub store: ArtifactStore,
    /// Files the IoT devices download.
    pub device_files: DeviceFileStore,
    /// The outside services.
    pub services: Services,
    /// The settings, resolved once at start-up.
    pub config: Config,
    /// The secret key and the sign-in throttle.
    pub accounts: accounts::Accounts,
    /// Clean-ups left running by requests (awaited at shutdown) and the Jobs being deleted.
    pub background: crate::background::Background,
}

impl Ctx {
    /// A context over an open pool and stores.
    pub fn new(
        pool: Pool,
        store: ArtifactStore,
        device_files: DeviceFileStore,
        services: Services,
        config: Config,
    ) -> Self {
        let db_slots = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        let accounts = accounts::Accounts::new(accounts::SecretKey::random());
        Ctx { pool, db_slots, store, device_files, services, config, accounts, background: Default::default() }
    }

    /// The same context signing with `key` (by default a random key of this process).
    pub fn with_secret_key(mut self, key: accounts::SecretKey) -> Self {
        self.accounts = accounts::Accounts::new(key);
        self
    }

    /// Runs `f` with a pooled connection on the blocking thread pool. At most as many calls as the
    /// pool has connections run at once (so no more blocking threads than connections); the
    /// others wait here, up to the pool's connection timeout, then fail as unavailable.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let wait = self.pool.connection_timeout();
        let permit = tokio::time::timeout(wait, self.db_slots.clone().acquire_owned())
            .await
            .map_err(|_| Error::DatabaseBusy)?
            .map_err(|_| Error::DatabaseBusy)?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            // Held until the work is done, even when the caller is dropped meanwhile.
            let _permit = permit;
            let mut conn = pool.get().map_err(|e| Error::Db(e.into()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task: {e}")))?
    }

    /// The default cluster, or an error when none is configured.
    pub fn cluster(&self) -> Result<Arc<dyn Cluster>, Error> {
        self.services.cluster.clone().ok_or(Error::Cluster(ClusterError::NotConfigured))
    }

    /// The cluster of an inference: its external cluster when it has one and
    /// `KAFKAML_EXTERNAL_CLUSTERS` allows it (checked before any connection), else the default.
    pub async fn cluster_for(
        &self,
        external: Option<&kafkaml_domain::settings::ExternalCluster>,
    ) -> Result<Arc<dyn Cluster>, Error> {
        match external {
            Some(e) => {
                let token = e.token.expose_secret();
                let connection = match self.config.external_clusters.check(&e.host).await? {
                    Some(address) => self.services.connector.connect_at(&e.host, address, token).await,
                    None => self.services.connector.connect(&e.host, token).await,
                };
                connection.map_err(|err| match err {
                    ClusterError::Config(reason) => Error::ExternalCluster { host: e.host.clone(), reason },
                    other => Error::Cluster(other),
                })
            }
            None => self.cluster(),
        }
    }
}
