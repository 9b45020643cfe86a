//! Training-case selection: which of the 9 training Jobs a deployment's result gets
//! (docs/contract.md §5.3.2).
//!
//! | model role | incremental | federated | blockchain | case |
//! | --- | --- | --- | --- | --- |
//! | non-distributed | no | no | ignored | 1 single classic |
//! | non-distributed | yes | no | ignored | 2 single incremental |
//! | distributed root | no | no | ignored | 3 distributed classic |
//! | distributed root | yes | no | ignored | 4 distributed incremental |
//! | non-distributed | no | yes | no | 5 single federated |
//! | non-distributed | yes | yes | ignored | 6 single federated incremental |
//! | distributed root | no | yes | ignored | 7 federated distributed |
//! | distributed root | yes | yes | ignored | 8 federated distributed incremental |
//! | non-distributed | no | yes | yes | 9 single federated blockchain |
//! | distributed member (has a father) | any | any | any | none: covered by its root's Job |
//!
//! The case number is passed to the training container as env `CASE`; the Job name is the case's
//! prefix followed by the result id (single cases) or by every result id of the chain, root to
//! leaf (distributed cases).

use std::fmt::Write as _;

/// One of the 9 training set-ups of Kafka-ML. The discriminant is the `CASE` number the training
/// images dispatch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TrainingCase {
    /// 1: one model, classic (bounded) training.
    SingleClassic = 1,
    /// 2: one model, incremental training on an unbounded stream.
    SingleIncremental = 2,
    /// 3: a distributed chain, classic training.
    DistributedClassic = 3,
    /// 4: a distributed chain, incremental training.
    DistributedIncremental = 4,
    /// 5: one model, federated training (controller Job).
    SingleFederated = 5,
    /// 6: one model, federated incremental training.
    SingleFederatedIncremental = 6,
    /// 7: a distributed chain, federated training.
    FederatedDistributed = 7,
    /// 8: a distributed chain, federated incremental training.
    FederatedDistributedIncremental = 8,
    /// 9: one model, federated training with blockchain aggregation.
    SingleFederatedBlockchain = 9,
}

impl TrainingCase {
    /// All cases, in `CASE` number order.
    pub const ALL: [TrainingCase; 9] = [
        Self::SingleClassic,
        Self::SingleIncremental,
        Self::DistributedClassic,
        Self::DistributedIncremental,
        Self::SingleFederated,
        Self::SingleFederatedIncremental,
        Self::FederatedDistributed,
        Self::FederatedDistributedIncremental,
        Self::SingleFederatedBlockchain,
    ];

    /// The `CASE` number (1–9).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The case with the given `CASE` number, if it is in 1–9.
    pub fn from_number(number: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|case| case.number() == number)
    }

    /// The prefix of the Kubernetes Job names of this case (see [`job_name`]).
    pub fn job_name_prefix(self) -> &'static str {
        match self {
            Self::SingleClassic => "model-training",
            Self::SingleIncremental => "incremental-model-training",
            Self::DistributedClassic => "distributed-model-training",
            Self::DistributedIncremental => "distributed-incremental-model-training",
            Self::SingleFederated => "federated-model-training-controller",
            Self::SingleFederatedIncremental => "federated-incremental-model-training-controller",
            Self::FederatedDistributed => "federated-distributed-model-training-controller",
            Self::FederatedDistributedIncremental => "fed-dist-incremental-model-training-controller",
            Self::SingleFederatedBlockchain => "federated-blockchain-model-training-controller",
        }
    }

    /// Whether the Job trains a whole distributed chain (cases 3, 4, 7, 8).
    pub fn is_distributed(self) -> bool {
        matches!(
            self,
            Self::DistributedClassic
                | Self::DistributedIncremental
                | Self::FederatedDistributed
                | Self::FederatedDistributedIncremental
        )
    }

    /// Whether the training is federated (cases 5–9).
    pub fn is_federated(self) -> bool {
        matches!(
            self,
            Self::SingleFederated
                | Self::SingleFederatedIncremental
                | Self::FederatedDistributed
                | Self::FederatedDistributedIncremental
                | Self::SingleFederatedBlockchain
        )
    }

    /// Whether the training is incremental (cases 2, 4, 6, 8).
    pub fn is_incremental(self) -> bool {
        matches!(
            self,
            Self::SingleIncremental
                | Self::DistributedIncremental
                | Self::SingleFederatedIncremental
                | Self::FederatedDistributedIncremental
        )
    }
}

/// The place of a result's model in distributed chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelRole {
    /// A model that is not distributed (`distributed = false`), whatever its father link says.
    NonDistributed,
    /// A distributed model without a father: the root of a chain, which gets the chain's Job.
    DistributedRoot,
    /// A distributed model with a father: trained by its root's Job.
    DistributedMember,
}

impl ModelRole {
    /// The role of a model from its `distributed` flag and whether it has a father.
    pub fn new(distributed: bool, has_father: bool) -> Self {
        match (distributed, has_father) {
            (false, _) => Self::NonDistributed,
            (true, false) => Self::DistributedRoot,
            (true, true) => Self::DistributedMember,
        }
    }
}

/// Chooses the training case of a result from its model's role and the deployment's flags.
///
/// Returns `None` for a [`ModelRole::DistributedMember`]: no Job of its own, its chain root's Job
/// trains it. `blockchain` only matters for a non-distributed, non-incremental federated
/// deployment (case 9); elsewhere it is ignored, as by the reference.
///
/// ```
/// use kafkaml_domain::rules::{select_training_case, ModelRole, TrainingCase};
///
/// assert_eq!(
///     select_training_case(ModelRole::DistributedRoot, true, false, false),
///     Some(TrainingCase::DistributedIncremental)
/// );
/// assert_eq!(select_training_case(ModelRole::DistributedMember, false, false, false), None);
/// ```
pub fn select_training_case(
    role: ModelRole,
    incremental: bool,
    federated: bool,
    blockchain: bool,
) -> Option<TrainingCase> {
    let case = match (role, incremental, federated) {
        (ModelRole::DistributedMember, _, _) => return None,
        (ModelRole::NonDistributed, false, false) => TrainingCase::SingleClassic,
        (ModelRole::NonDistributed, true, false) => TrainingCase::SingleIncremental,
        (ModelRole::NonDistributed, false, true) if blockchain => TrainingCase::SingleFederatedBlockchain,
        (ModelRole::NonDistributed, false, true) => TrainingCase::SingleFederated,
        (ModelRole::NonDistributed, true, true) => TrainingCase::SingleFederatedIncremental,
        (ModelRole::DistributedRoot, false, false) => TrainingCase::DistributedClassic,
        (ModelRole::DistributedRoot, true, false) => TrainingCase::DistributedIncremental,
        (ModelRole::DistributedRoot, false, true) => TrainingCase::FederatedDistributed,
        (ModelRole::DistributedRoot, true, true) => TrainingCase::FederatedDistributedIncremental,
    };
    Some(case)
}

/// The Kubernetes Job name of a training unit.
///
/// Single cases: `<prefix>-<id>` with the first (only) id of `result_ids_root_to_leaf`.
/// Distributed cases: `<prefix>` followed by `-<id>` for every id, root to leaf
/// (`distributed-model-training-13-14-15`). An empty id list gives the bare prefix.
///
/// Kubernetes refuses Job names longer than [`MAX_JOB_NAME_LEN`] (the Job controller copies the
/// name into a label value). A longer name (a long chain, large ids) keeps its first 54
/// characters and ends in `-` plus 8 hex digits of a hash of the whole name, so it stays
/// readable, unique and the same every time it is computed (stop finds the Job again).
///
/// ```
/// use kafkaml_domain::rules::{job_name, TrainingCase};
///
/// assert_eq!(job_name(TrainingCase::SingleClassic, &[7]), "model-training-7");
/// assert_eq!(
///     job_name(TrainingCase::DistributedClassic, &[13, 14, 15]),
///     "distributed-model-training-13-14-15"
/// );
/// ```
pub fn job_name(case: TrainingCase, result_ids_root_to_leaf: &[i32]) -> String {
    let ids = if case.is_distributed() {
        result_ids_root_to_leaf
    } else {
        result_ids_root_to_leaf.get(..1).unwrap_or(result_ids_root_to_leaf)
    };
    let mut name = case.job_name_prefix().to_owned();
    for id in ids {
        let _ = write!(name, "-{id}");
    }
    if name.len() <= MAX_JOB_NAME_LEN {
        return name;
    }
    let hash = fnv1a_32(name.as_bytes());
    // The name is ASCII (prefix, digits, '-'), so any byte index is a char boundary.
    name.truncate(MAX_JOB_NAME_LEN - 9);
    let kept = name.trim_end_matches('-').len();
    name.truncate(kept);
    let _ = write!(name, "-{hash:08x}");
    name
}

/// The longest Job name Kubernetes accepts (a label value: 63 characters).
pub const MAX_JOB_NAME_LEN: usize = 63;

/// 32-bit FNV-1a: a hash that is the same on every platform and Rust release.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {

    use super::*;
    use ModelRole::{DistributedMember, DistributedRoot, NonDistributed};

    fn select(role: ModelRole, incremental: bool, federated: bool, blockchain: bool) -> u8 {
        select_training_case(role, incremental, federated, blockchain).unwrap().number()
    }

    #[test]
    fn case_1_single_classic() {
        assert_eq!(select_training_case(NonDistributed, false, false, false), Some(TrainingCase::SingleClassic));
        // blockchain without federated is ignored.
        assert_eq!(select(NonDistributed, false, false, true), 1);
    }

    #[test]
    fn case_2_single_incremental() {
        assert_eq!(select_training_case(NonDistributed, true, false, false), Some(TrainingCase::SingleIncremental));
        assert_eq!(select(NonDistributed, true, false, true), 2);
    }

    #[test]
    fn case_3_distributed_classic() {
        assert_eq!(select_training_case(DistributedRoot, false, false, false), Some(TrainingCase::DistributedClassic));
        assert_eq!(select(DistributedRoot, false, false, true), 3);
    }

    #[test]
    fn case_4_distributed_incremental() {
        assert_eq!(
            select_training_case(DistributedRoot, true, false, false),
            Some(TrainingCase::DistributedIncremental)
        );
        assert_eq!(select(DistributedRoot, true, false, true), 4);
    }

    #[test]
    fn case_5_single_federated() {
        assert_eq!(select_training_case(NonDistributed, false, true, false), Some(TrainingCase::SingleFederated));
    }

    #[test]
    fn case_6_single_federated_incremental() {
        assert_eq!(
            select_training_case(NonDistributed, true, true, false),
            Some(TrainingCase::SingleFederatedIncremental)
        );
        // blockchain is ignored for incremental federated training.
        assert_eq!(select(NonDistributed, true, true, true), 6);
    }

    #[test]
    fn case_7_federated_distributed() {
        assert_eq!(select_training_case(DistributedRoot, false, true, false), Some(TrainingCase::FederatedDistributed));
        assert_eq!(select(DistributedRoot, false, true, true), 7);
    }

    #[test]
    fn case_8_federated_distributed_incremental() {
        assert_eq!(
            select_training_case(DistributedRoot, true, true, false),
            Some(TrainingCase::FederatedDistributedIncremental)
        );
        assert_eq!(select(DistributedRoot, true, true, true), 8);
    }

    #[test]
    fn case_9_single_federated_blockchain() {
        assert_eq!(
            select_training_case(NonDistributed, false, true, true),
            Some(TrainingCase::SingleFederatedBlockchain)
        );
    }

    #[test]
    fn distributed_members_get_no_job_of_their_own() {
        for incremental in [false, true] {
            for federated in [false, true] {
                for blockchain in [false, true] {
                    assert_eq!(select_training_case(DistributedMember, incremental, federated, blockchain), None);
                }
            }
        }
    }

    #[test]
    fn model_role_from_flags() {
        assert_eq!(ModelRole::new(false, false), NonDistributed);
        assert_eq!(ModelRole::new(false, true), NonDistributed);
        assert_eq!(ModelRole::new(true, false), DistributedRoot);
        assert_eq!(ModelRole::new(true, true), DistributedMember);
    }

    #[test]
    fn numbers_round_trip() {
        for (i, case) in TrainingCase::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(case.number()), i + 1);
            assert_eq!(TrainingCase::from_number(case.number()), Some(case));
        }
        assert_eq!(TrainingCase::from_number(0), None);
        assert_eq!(TrainingCase::from_number(10), None);
    }

    #[test]
    fn flags_of_each_case() {
        let distributed: Vec<u8> =
            TrainingCase::ALL.into_iter().filter(|c| c.is_distributed()).map(TrainingCase::number).collect();
        assert_eq!(distributed, [3, 4, 7, 8]);
        let federated: Vec<u8> =
            TrainingCase::ALL.into_iter().filter(|c| c.is_federated()).map(TrainingCase::number).collect();
        assert_eq!(federated, [5, 6, 7, 8, 9]);
        let incremental: Vec<u8> =
            TrainingCase::ALL.into_iter().filter(|c| c.is_incremental()).map(TrainingCase::number).collect();
        assert_eq!(incremental, [2, 4, 6, 8]);
    }

    #[test]
    fn job_names_of_single_cases() {
        let expected = [
            (TrainingCase::SingleClassic, "model-training-7"),
            (TrainingCase::SingleIncremental, "incremental-model-training-7"),
            (TrainingCase::SingleFederated, "federated-model-training-controller-7"),
            (TrainingCase::SingleFederatedIncremental, "federated-incremental-model-training-controller-7"),
            (TrainingCase::SingleFederatedBlockchain, "federated-blockchain-model-training-controller-7"),
        ];
        for (case, name) in expected {
            assert_eq!(job_name(case, &[7]), name);
            // Extra ids are ignored for single cases.
            assert_eq!(job_name(case, &[7, 8]), name);
        }
    }

    #[test]
    fn job_names_of_distributed_cases() {
        let ids = [13, 14, 15];
        assert_eq!(job_name(TrainingCase::DistributedClassic, &ids), "distributed-model-training-13-14-15");
        assert_eq!(
            job_name(TrainingCase::DistributedIncremental, &ids),
            "distributed-incremental-model-training-13-14-15"
        );
        assert_eq!(
            job_name(TrainingCase::FederatedDistributed, &ids),
            "federated-distributed-model-training-controller-13-14-15"
        );
        assert_eq!(
            job_name(TrainingCase::FederatedDistributedIncremental, &ids),
            "fed-dist-incremental-model-training-controller-13-14-15"
        );
        assert_eq!(job_name(TrainingCase::DistributedClassic, &[42]), "distributed-model-training-42");
    }

    #[test]
    fn long_job_names_are_shortened_to_63_characters_deterministically() {
        // 47-character prefix + three 10-digit ids: 80 characters before shortening.
        let ids = [2_000_000_001, 2_000_000_002, 2_000_000_003];
        let name = job_name(TrainingCase::FederatedDistributedIncremental, &ids);
        assert_eq!(name.len(), MAX_JOB_NAME_LEN, "{name}");
        assert!(name.starts_with("fed-dist-incremental-model-training-controller-2000000"), "{name}");
        let (_, hash) = name.rsplit_once('-').unwrap();
        assert_eq!(hash.len(), 8);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{name}");
        assert_eq!(job_name(TrainingCase::FederatedDistributedIncremental, &ids), name, "same every time");
        // Chains that share the kept part still get different names.
        let other = job_name(TrainingCase::FederatedDistributedIncremental, &[2_000_000_001, 2_000_000_002, 7]);
        assert_ne!(other, name);
        assert_eq!(other.len(), MAX_JOB_NAME_LEN);
        // Every case and chain length stays within the limit and ends with a letter or digit.
        for case in TrainingCase::ALL {
            for len in 1..=12 {
                let chain: Vec<i32> = (0..len).map(|i| i32::MAX - i).collect();
                let name = job_name(case, &chain);
                assert!(name.len() <= MAX_JOB_NAME_LEN, "{name}");
                assert!(name.bytes().last().unwrap().is_ascii_alphanumeric(), "{name}");
            }
        }
        // Names that fit are left alone.
        let fits = job_name(TrainingCase::FederatedDistributedIncremental, &[12345, 67890]);
        assert_eq!(fits, "fed-dist-incremental-model-training-controller-12345-67890");
        assert!(fits.len() <= MAX_JOB_NAME_LEN);
    }

    #[test]
    fn job_name_without_ids_is_the_prefix() {
        assert_eq!(job_name(TrainingCase::SingleClassic, &[]), "model-training");
        assert_eq!(job_name(TrainingCase::DistributedClassic, &[]), "distributed-model-training");
    }
}
