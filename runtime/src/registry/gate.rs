//! The gate (design §11): a pending contract migration runs only when no live instance other
//! than the runner embeds a set without it. Pure: from a plan and the live instances, the plan
//! without the contract steps that wait, and the waiting ones listed.

use crate::error::Error;
use crate::history::Tables;
use crate::plan::Plan;
use crate::waiting::{LiveInstance, WaitingContract};

/// Whether the plan applies a contract migration, so the registry must be read.
pub(crate) fn needs_registry(plan: &Plan<'_>) -> bool {
    plan.steps()
        .iter()
        .any(crate::plan::PlannedStep::applies_contract)
}

/// Takes out of `plan` each contract step that a live instance other than `me` lacks, listing
/// it in [`Plan::waiting`]; the later steps stay (a waiting contract never blocks later expand
/// migrations). With a registry (`live` is `Some`), each contract step that stays opens its
/// transaction with a re-read of the registry ([`super::sql::gate_check_sql`]). No registry: no
/// instance ever registered, every gate is open. With `force`, a contract step with holders
/// stays, unchecked, and is listed in [`Plan::forced`] with them.
pub(crate) fn hold(
    plan: &mut Plan<'_>,
    live: Option<&[LiveInstance]>,
    me: Option<&str>,
    tables: &Tables,
    force: bool,
) -> Result<(), Error> {
    let Some(live) = live else {
        return Ok(());
    };
    let mut kept = Vec::with_capacity(plan.steps.len());
    for mut step in std::mem::take(&mut plan.steps) {
        if !step.applies_contract() {
            kept.push(step);
            continue;
        }
        let m = step.migration();
        let holders: Vec<LiveInstance> = live
            .iter()
            .filter(|i| Some(i.id.as_str()) != me && i.lacks(m.version()))
            .cloned()
            .collect();
        if holders.is_empty() {
            step.gate = Some(super::sql::gate_check_sql(tables, m.version(), me)?);
            kept.push(step);
            continue;
        }
        let held = WaitingContract {
            version: m.version().to_owned(),
            name: m.name().to_owned(),
            path: m.up().path().to_owned(),
            holders,
        };
        if force {
            plan.forced.push(held);
            kept.push(step);
        } else {
            plan.waiting.push(held);
        }
    }
    plan.steps = kept;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{set, versioned};
    use crate::history::applied;
    use crate::plan::{plan, Policy};
    use crate::target::Target;
    use std::time::Duration;

    fn instance(id: &str, contracts: &[&str]) -> LiveInstance {
        LiveInstance {
            id: id.to_owned(),
            application: "app".to_owned(),
            host: "h".to_owned(),
            pid: 1,
            newest_version: None,
            contracts: contracts.iter().map(|c| (*c).to_owned()).collect(),
            started_at: String::new(),
            last_seen: String::new(),
            expires_in: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_contract_waits_for_old_instances_but_not_for_itself_nor_later_expands() {
        let mut s = set(vec![
            versioned("1", "CREATE TABLE a (x int);", None),
            versioned("2", "ALTER TABLE a DROP COLUMN x;", None),
            versioned("3", "CREATE TABLE b ();", None),
        ]);
        s.items.to_mut()[1].up.contract = true;
        let h = [applied(&s.items[0])];
        let t = Tables::new("public", "h").unwrap();
        let old = instance("old", &[]);
        let new = instance("new", &["2"]);

        let mut p = plan(&s, &h, &Target::Latest, Policy::default()).unwrap();
        hold(&mut p, Some(&[old.clone(), new.clone()]), None, &t, false).unwrap();
        let versions: Vec<&str> = p.steps().iter().map(|s| s.migration().version()).collect();
        assert_eq!(
            versions,
            ["3"],
            "the expand after the waiting contract still runs"
        );
        assert_eq!(p.waiting().len(), 1);
        assert_eq!(p.waiting()[0].version, "2");
        assert_eq!(p.waiting()[0].holders, std::slice::from_ref(&old));

        let mut p = plan(&s, &h, &Target::Latest, Policy::default()).unwrap();
        hold(
            &mut p,
            Some(std::slice::from_ref(&old)),
            Some("old"),
            &t,
            false,
        )
        .unwrap();
        assert_eq!(p.steps().len(), 2, "the runner does not hold its own gate");
        assert!(p.steps()[0]
            .gate
            .as_deref()
            .unwrap()
            .contains("id <> 'old'"));

        let mut p = plan(&s, &h, &Target::Latest, Policy::default()).unwrap();
        hold(&mut p, None, None, &t, false).unwrap();
        assert_eq!(p.steps().len(), 2, "no registry: the gate is open");
        assert!(p.steps()[0].gate.is_none());

        let mut p = plan(&s, &h, &Target::Latest, Policy::default()).unwrap();
        hold(&mut p, Some(std::slice::from_ref(&old)), None, &t, true).unwrap();
        assert_eq!(p.steps().len(), 2, "forced: it runs");
        assert!(p.waiting().is_empty());
        assert_eq!(p.forced[0].holders, [old], "and says over whom");
    }
}
