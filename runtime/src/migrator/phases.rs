//! What the verbs do with phases (design §11): the gate a run passes a plan through, the
//! refusal of an old binary, the registry in `status`, and the operator's verbs `contract` and
//! `instances`.

use super::{Gate, Migrator};
use crate::db::Db;
use crate::error::Error;
use crate::events;
use crate::history::Tables;
use crate::plan::Plan;
use crate::registry;
use crate::report::Report;
use crate::status::Status;
use crate::warning::Warning;

impl<'m> Migrator<'m> {
    /// [`run`](Self::run) for an operator who runs the contract step by hand (`migrate
    /// contract`): applies every pending migration, contract ones included, and refuses with
    /// [`Error::ContractWaiting`] (running nothing) when live registered instances embed sets
    /// without a pending contract migration, naming them. With
    /// [`force_contracts(true)`](Self::force_contracts) it runs them anyway and lists those
    /// instances in a [`Warning::ContractForced`] each.
    pub async fn contract<'a>(&self, db: impl Into<Db<'a>>) -> Result<Report, Error> {
        let mut m = self.clone();
        if m.gate != Gate::Force {
            m.gate = Gate::Refuse;
        }
        m.run(db).await
    }

    /// The live registered instances (design §11), oldest first: what holds a contract
    /// migration's gate. Reads only; empty when no instance ever registered.
    pub async fn instances<'a>(
        &self,
        db: impl Into<Db<'a>>,
    ) -> Result<Vec<crate::LiveInstance>, Error> {
        let db = db.into();
        let tables = self.tables()?;
        let conn = db.shared().await?;
        Ok(registry::sql::live(&conn, &tables)
            .await?
            .unwrap_or_default())
    }

    /// What status says of rolling deploys: the phases of applied migrations this set lacks
    /// (read only when there are such), and the live instances (when a registry exists).
    pub(super) async fn registry_in_status(
        &self,
        db: Db<'_>,
        status: &mut Status,
    ) -> Result<(), Error> {
        let tables = self.tables()?;
        let conn = db.shared().await?;
        let unknown: Vec<String> = status
            .entries
            .iter()
            .filter(|e| e.path.is_none())
            .map(|e| e.version.clone())
            .collect();
        for (version, _) in registry::sql::applied_contracts(&conn, &tables, &unknown).await? {
            if let Some(e) = status.entries.iter_mut().find(|e| e.version == version) {
                e.phase = crate::Phase::Contract;
            }
        }
        if tables.beside(registry::sql::SUFFIX).is_ok() {
            status.instances = registry::sql::live(&conn, &tables)
                .await?
                .unwrap_or_default();
        }
        Ok(())
    }

    /// The gate (design §11): when `plan` applies contract migrations, reads the live instances
    /// and takes out those a live instance lacks (or, as [`contract`](Self::contract) does,
    /// refuses; or, forced, keeps them and lists who lacked them).
    pub(super) async fn gate(
        &self,
        client: &tokio_postgres::Client,
        tables: &Tables,
        plan: &mut Plan<'m>,
    ) -> Result<(), Error> {
        if !registry::needs_registry(plan) {
            return Ok(());
        }
        let live = registry::sql::live(client, tables).await?;
        let force = self.gate == Gate::Force;
        registry::hold(
            plan,
            live.as_deref(),
            self.instance.as_deref(),
            tables,
            force,
        )?;
        for w in &plan.waiting {
            tracing::info!(target: events::CONTRACT_WAITING, version = %w.version, holders = w.holders.len(), "{w}");
        }
        if self.gate == Gate::Refuse && !plan.waiting.is_empty() {
            return Err(Error::ContractWaiting {
                waiting: std::mem::take(&mut plan.waiting),
            });
        }
        Ok(())
    }

    /// An old binary (design §11): history records a contract migration among the versions
    /// newer than this set, which this set lacks: [`Error::MissingContract`] (unless
    /// `allow_missing`). Reads history's phases only when there are such versions.
    pub(super) async fn refuse_missing_contract(
        &self,
        client: &tokio_postgres::Client,
        tables: &Tables,
        plan: &Plan<'m>,
    ) -> Result<(), Error> {
        self.refuse_applied_contracts(client, tables, &plan.future)
            .await
    }

    /// [`Error::MissingContract`] when one of `versions` (applied, unknown to this set) is a
    /// contract migration in history, unless `allow_missing`; no query without such versions.
    pub(super) async fn refuse_applied_contracts(
        &self,
        client: &tokio_postgres::Client,
        tables: &Tables,
        versions: &[String],
    ) -> Result<(), Error> {
        if versions.is_empty() || self.policy.allow_missing {
            return Ok(());
        }
        match registry::sql::applied_contracts(client, tables, versions)
            .await?
            .into_iter()
            .next()
        {
            Some((version, name)) => Err(Error::MissingContract { version, name }),
            None => Ok(()),
        }
    }
}

/// The warnings of contract migrations run over the live instances that lacked them (forced),
/// each also a `tracing` event.
pub(super) fn forced(contracts: Vec<crate::WaitingContract>) -> impl Iterator<Item = Warning> {
    contracts.into_iter().map(|contract| {
        let w = Warning::ContractForced { contract };
        tracing::warn!(target: events::CONTRACT_WAITING, "{w}");
        w
    })
}
