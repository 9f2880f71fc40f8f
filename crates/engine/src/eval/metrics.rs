//! Ranking metrics over one user's top-k list and their relevant set (binary relevance).

/// Metrics of one ranked list.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ListMetrics {
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    /// Average precision at k (the mean over users is MAP@k).
    pub ap: f64,
}

/// Metrics of `ranked` (best first, at most k used) against the sorted `relevant` set.
pub fn list_metrics<T: Ord>(ranked: &[T], relevant: &[T], k: usize) -> ListMetrics {
    if relevant.is_empty() || k == 0 {
        return ListMetrics::default();
    }
    let (mut hits, mut dcg, mut ap) = (0usize, 0.0, 0.0);
    for (i, item) in ranked.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / ((i + 2) as f64).log2();
            ap += hits as f64 / (i + 1) as f64;
        }
    }
    let ideal: f64 = (0..relevant.len().min(k)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    ListMetrics {
        precision: hits as f64 / k as f64,
        recall: hits as f64 / relevant.len() as f64,
        ndcg: dcg / ideal,
        ap: ap / relevant.len().min(k) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_list_scores_one_and_an_empty_hit_list_zero() {
        let m = list_metrics(&[1, 2, 3], &[1, 2, 3], 3);
        assert_eq!((m.precision, m.recall, m.ndcg, m.ap), (1.0, 1.0, 1.0, 1.0));
        assert_eq!(list_metrics(&[4, 5], &[1, 2], 2), ListMetrics::default());
    }

    #[test]
    fn metrics_match_a_hand_computed_case() {
        // Hits at ranks 2 and 3 of 3, with 4 relevant items.
        let m = list_metrics(&[9, 1, 2], &[1, 2, 3, 4], 3);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!((m.ndcg - dcg / idcg).abs() < 1e-12);
        assert!((m.ap - (0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }
}
