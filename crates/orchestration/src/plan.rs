//! Which training Jobs a deployment needs (docs/contract.md §5.3.2, decisions.md item 3): one Job per
//! non-distributed result and one per distributed chain, named after the chain's results root to
//! leaf. Chain members below a root get no Job of their own.
//!
//! Chains are followed inside the deployment only: a distributed model whose father is not part of
//! the deployment (its configuration selected a chain from the middle) starts a chain of its own,
//! so that every result of the deployment is trained by exactly one Job.

use std::collections::{HashMap, HashSet};

use kafkaml_domain::rules::{chain_from_root, job_name, select_training_case, ModelRole, TrainingCase};
use kafkaml_domain::Framework;

/// A result of a deployment with what the plan needs of its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedResult {
    /// The training result.
    pub result_id: i32,
    /// Its model.
    pub model_id: i32,
    /// The model's framework.
    pub framework: Framework,
    /// Whether the model is part of a distributed chain.
    pub distributed: bool,
    /// The model's father (upper model of its chain), if any.
    pub father_id: Option<i32>,
}

/// The training flags of a deployment that choose the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrainingFlags {
    /// Incremental training.
    pub incremental: bool,
    /// Federated training.
    pub federated: bool,
    /// Blockchain aggregation (only for single, non-incremental federated training).
    pub blockchain: bool,
}

/// One training Job of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedJob {
    /// The training case.
    pub case: TrainingCase,
    /// The framework of the Job's (root) model: it chooses the image and the kwargs.
    pub framework: Framework,
    /// The results the Job trains, root to leaf (one id for single cases).
    pub result_ids: Vec<i32>,
}

impl PlannedJob {
    /// The Job's name (`model-training-7`, `distributed-model-training-13-14-15`, …).
    pub fn name(&self) -> String {
        job_name(self.case, &self.result_ids)
    }

    /// The result the Job is labelled with: the only or root result.
    pub fn root_result(&self) -> i32 {
        self.result_ids.first().copied().unwrap_or_default()
    }
}

/// Plans the Jobs of a deployment's results, in the order of `results` (each chain at its root's
/// place).
///
/// When a model has several results in the deployment (indefinite incremental training adds
/// some), chains use the model's lowest result id, the one the deployment created.
pub fn plan_jobs(results: &[PlannedResult], flags: TrainingFlags) -> Vec<PlannedJob> {
    let mut result_of_model: HashMap<i32, &PlannedResult> = HashMap::new();
    for r in results {
        result_of_model
            .entry(r.model_id)
            .and_modify(|cur| {
                if r.result_id < cur.result_id {
                    *cur = r;
                }
            })
            .or_insert(r);
    }
    // The child of each model inside this deployment.
    let mut child_of: HashMap<i32, i32> = HashMap::new();
    for r in result_of_model.values() {
        if let (true, Some(father)) = (r.distributed, r.father_id) {
            if result_of_model.get(&father).is_some_and(|f| f.distributed) {
                child_of.insert(father, r.model_id);
            }
        }
    }
    let mut planned = Vec::new();
    let mut seen_models = HashSet::new();
    for r in results {
        let in_chain = r.distributed
            && r.father_id.is_some_and(|f| result_of_model.get(&f).is_some_and(|father| father.distributed));
        let role = ModelRole::new(r.distributed, in_chain);
        let Some(case) = select_training_case(role, flags.incremental, flags.federated, flags.blockchain) else {
            continue;
        };
        if !seen_models.insert(r.model_id) {
            // Another result of the same model: the first one carries the Job.
            continue;
        }
        let result_ids = if case.is_distributed() {
            chain_from_root(r.model_id, |m| child_of.get(&m).copied())
                .into_iter()
                .filter_map(|m| result_of_model.get(&m).map(|x| x.result_id))
                .collect()
        } else {
            vec![r.result_id]
        };
        planned.push(PlannedJob { case, framework: r.framework, result_ids });
    }
    planned
}

/// The Job that trains `result_id`, whether the result is single, a chain root or a chain member.
///
/// A result that no planned Job covers (e.g. a later result of an indefinite incremental training)
/// is taken as a single result of its own.
pub fn job_of_result(results: &[PlannedResult], flags: TrainingFlags, result_id: i32) -> Option<PlannedJob> {
    let planned = plan_jobs(results, flags);
    if let Some(job) = planned.into_iter().find(|j| j.result_ids.contains(&result_id)) {
        return Some(job);
    }
    let r = results.iter().find(|r| r.result_id == result_id)?;
    let case = select_training_case(
        ModelRole::new(r.distributed, false),
        flags.incremental,
        flags.federated,
        flags.blockchain,
    )?;
    Some(PlannedJob { case, framework: r.framework, result_ids: vec![result_id] })
}

#[cfg(test)]
mod tests {

    use super::*;

    fn single(result_id: i32, model_id: i32, framework: Framework) -> PlannedResult {
        PlannedResult { result_id, model_id, framework, distributed: false, father_id: None }
    }

    fn member(result_id: i32, model_id: i32, father_id: Option<i32>) -> PlannedResult {
        PlannedResult { result_id, model_id, framework: Framework::Tf, distributed: true, father_id }
    }

    const CLASSIC: TrainingFlags = TrainingFlags { incremental: false, federated: false, blockchain: false };

    #[test]
    fn one_job_per_single_result() {
        let results = [single(1, 10, Framework::Tf), single(2, 11, Framework::Pth)];
        let jobs = plan_jobs(&results, CLASSIC);
        assert_eq!(
            jobs,
            vec![
                PlannedJob { case: TrainingCase::SingleClassic, framework: Framework::Tf, result_ids: vec![1] },
                PlannedJob { case: TrainingCase::SingleClassic, framework: Framework::Pth, result_ids: vec![2] },
            ]
        );
        assert_eq!(jobs[0].name(), "model-training-1");
        assert_eq!(jobs[1].root_result(), 2);
    }

    #[test]
    fn one_job_per_chain_root_to_leaf_whatever_the_order() {
        // Chain 3 → 4 → 5 (models), results 13, 14, 15; given leaf first.
        let results =
            [member(15, 5, Some(4)), member(14, 4, Some(3)), member(13, 3, None), single(16, 6, Framework::Tf)];
        let jobs = plan_jobs(&results, CLASSIC);
        assert_eq!(
            jobs,
            vec![
                PlannedJob {
                    case: TrainingCase::DistributedClassic,
                    framework: Framework::Tf,
                    result_ids: vec![13, 14, 15]
                },
                PlannedJob { case: TrainingCase::SingleClassic, framework: Framework::Tf, result_ids: vec![16] },
            ]
        );
        assert_eq!(jobs[0].name(), "distributed-model-training-13-14-15");
    }

    #[test]
    fn cases_follow_the_flags() {
        let results = [member(13, 3, None), member(14, 4, Some(3)), single(16, 6, Framework::Tf)];
        let cases = |flags| plan_jobs(&results, flags).iter().map(|j| j.case.number()).collect::<Vec<_>>();
        assert_eq!(cases(TrainingFlags { incremental: true, federated: false, blockchain: false }), [4, 2]);
        assert_eq!(cases(TrainingFlags { incremental: false, federated: true, blockchain: false }), [7, 5]);
        assert_eq!(cases(TrainingFlags { incremental: true, federated: true, blockchain: false }), [8, 6]);
        assert_eq!(cases(TrainingFlags { incremental: false, federated: true, blockchain: true }), [7, 9]);
    }

    #[test]
    fn a_chain_cut_from_the_middle_gets_its_own_root() {
        // Model 4's father 3 is not in the deployment: 4 → 5 is trained as a chain rooted at 4.
        let results = [member(14, 4, Some(3)), member(15, 5, Some(4))];
        let jobs = plan_jobs(&results, CLASSIC);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].result_ids, vec![14, 15]);
    }

    #[test]
    fn a_lone_distributed_model_is_a_chain_of_one() {
        let jobs = plan_jobs(&[member(13, 3, None)], CLASSIC);
        assert_eq!(jobs[0].case, TrainingCase::DistributedClassic);
        assert_eq!(jobs[0].name(), "distributed-model-training-13");
    }

    #[test]
    fn later_results_of_a_model_do_not_get_jobs() {
        // Result 20 was added by an indefinite incremental upload for model 10.
        let results = [single(1, 10, Framework::Tf), single(20, 10, Framework::Tf)];
        let flags = TrainingFlags { incremental: true, ..CLASSIC };
        let jobs = plan_jobs(&results, flags);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].result_ids, vec![1]);
        // Stopping it targets a Job named after it.
        let job = job_of_result(&results, flags, 20).unwrap();
        assert_eq!(job.name(), "incremental-model-training-20");
    }

    #[test]
    fn job_of_a_chain_member_is_the_chain_job() {
        let results = [member(13, 3, None), member(14, 4, Some(3)), member(15, 5, Some(4))];
        for id in [13, 14, 15] {
            let job = job_of_result(&results, CLASSIC, id).unwrap();
            assert_eq!(job.name(), "distributed-model-training-13-14-15");
        }
        assert_eq!(job_of_result(&results, CLASSIC, 99), None);
    }

    #[test]
    fn cycles_do_not_loop() {
        // Corrupted data: 3 ↔ 4. Neither is a root, so nothing is planned, and nothing hangs.
        let results = [member(13, 3, Some(4)), member(14, 4, Some(3))];
        assert!(plan_jobs(&results, CLASSIC).is_empty());
    }
}
