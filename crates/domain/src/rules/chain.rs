//! Distributed-chain expansion.
//!
//! Models form distributed chains through their one-to-one `father` link: root → child →
//! grandchild … (docs/contract.md §2.1). Selecting a model for a configuration selects its whole chain below
//! it (docs/contract.md §4.2, `POST /configurations/` and `PUT /configurations/<pk>`), and a distributed
//! training Job covers its root and every descendant (docs/contract.md §5.3.2).
//!
//! The functions here are pure: the caller supplies the `child_of` lookup (e.g. from a map loaded
//! in one query). They stop as soon as an id repeats, so a corrupted (cyclic) chain cannot make them
//! loop forever.

use std::collections::HashSet;

/// Expands the selected model ids with their distributed descendants.
///
/// For each selected id, in order: the id itself, then its child, grandchild, … as given by
/// `child_of`. Duplicates are removed keeping the first occurrence; a walk stops at the first id
/// already present (which also guards against cycles).
///
/// ```
/// use kafkaml_domain::rules::expand_chains;
/// use std::collections::HashMap;
///
/// // 3 → 4 → 5 is a chain; 7 stands alone.
/// let children = HashMap::from([(3, 4), (4, 5)]);
/// let child_of = |id: i32| children.get(&id).copied();
/// assert_eq!(expand_chains(&[7, 3], child_of), vec![7, 3, 4, 5]);
/// assert_eq!(expand_chains(&[4, 3], child_of), vec![4, 5, 3]);
/// ```
pub fn expand_chains(selected: &[i32], mut child_of: impl FnMut(i32) -> Option<i32>) -> Vec<i32> {
    let mut seen = HashSet::new();
    let mut expanded = Vec::with_capacity(selected.len());
    for &id in selected {
        let mut next = Some(id);
        // Every id already in `seen` had its descendants followed when it was added, so stopping
        // at a seen id loses nothing.
        while let Some(current) = next {
            if !seen.insert(current) {
                break;
            }
            expanded.push(current);
            next = child_of(current);
        }
    }
    expanded
}

/// The chain starting at `root`, in root → leaf order: `root`, its child, grandchild, …
///
/// Stops at the first id that repeats (cycle guard).
///
/// ```
/// use kafkaml_domain::rules::chain_from_root;
///
/// let child_of = |id: i32| (id < 15).then_some(id + 1);
/// assert_eq!(chain_from_root(13, child_of), vec![13, 14, 15]);
/// ```
pub fn chain_from_root(root: i32, child_of: impl FnMut(i32) -> Option<i32>) -> Vec<i32> {
    expand_chains(&[root], child_of)
}

#[cfg(test)]
mod tests {

    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(i32, i32)]) -> impl Fn(i32) -> Option<i32> {
        let map: HashMap<i32, i32> = pairs.iter().copied().collect();
        move |id| map.get(&id).copied()
    }

    #[test]
    fn empty_selection() {
        assert_eq!(expand_chains(&[], lookup(&[(1, 2)])), Vec::<i32>::new());
    }

    #[test]
    fn models_without_children_are_kept_in_order() {
        assert_eq!(expand_chains(&[5, 1, 3], lookup(&[])), vec![5, 1, 3]);
    }

    #[test]
    fn selecting_a_root_adds_its_whole_chain() {
        let child_of = lookup(&[(3, 4), (4, 5)]);
        assert_eq!(expand_chains(&[3], &child_of), vec![3, 4, 5]);
        assert_eq!(expand_chains(&[1, 3, 9], &child_of), vec![1, 3, 4, 5, 9]);
    }

    #[test]
    fn selecting_a_middle_member_adds_only_what_is_below() {
        let child_of = lookup(&[(3, 4), (4, 5)]);
        assert_eq!(expand_chains(&[4], &child_of), vec![4, 5]);
    }

    #[test]
    fn duplicates_keep_their_first_occurrence() {
        let child_of = lookup(&[(3, 4), (4, 5)]);
        // Web UI sends the whole chain: nothing is repeated.
        assert_eq!(expand_chains(&[3, 4, 5], &child_of), vec![3, 4, 5]);
        // Child selected before its root.
        assert_eq!(expand_chains(&[5, 3], &child_of), vec![5, 3, 4]);
        assert_eq!(expand_chains(&[4, 3], &child_of), vec![4, 5, 3]);
        // The same id twice.
        assert_eq!(expand_chains(&[7, 7, 3, 3], &child_of), vec![7, 3, 4, 5]);
    }

    #[test]
    fn two_chains() {
        let child_of = lookup(&[(1, 2), (10, 11), (11, 12)]);
        assert_eq!(expand_chains(&[10, 1], &child_of), vec![10, 11, 12, 1, 2]);
    }

    #[test]
    fn cycles_terminate() {
        let child_of = lookup(&[(1, 2), (2, 3), (3, 1)]);
        assert_eq!(expand_chains(&[1], &child_of), vec![1, 2, 3]);
        assert_eq!(expand_chains(&[2, 1], &child_of), vec![2, 3, 1]);
        let self_loop = lookup(&[(4, 4)]);
        assert_eq!(expand_chains(&[4], &self_loop), vec![4]);
        assert_eq!(chain_from_root(1, &child_of), vec![1, 2, 3]);
        assert_eq!(chain_from_root(4, &self_loop), vec![4]);
    }

    #[test]
    fn chain_from_root_is_root_to_leaf() {
        let child_of = lookup(&[(13, 14), (14, 15)]);
        assert_eq!(chain_from_root(13, &child_of), vec![13, 14, 15]);
        assert_eq!(chain_from_root(15, &child_of), vec![15]);
        assert_eq!(chain_from_root(99, &child_of), vec![99]);
    }

    #[test]
    fn accepts_stateful_lookups() {
        let mut calls = 0;
        let chain = chain_from_root(1, |id| {
            calls += 1;
            (id < 3).then_some(id + 1)
        });
        assert_eq!(chain, vec![1, 2, 3]);
        assert_eq!(calls, 3);
    }
}
