//! The regional view health authorities read: per category, how members' whole-
//! organisation profiles are distributed over the tiers, without any evidence.

use serde::{Deserialize, Serialize};

use super::catalogue::Catalogue;
use super::messages::SelfAssessment;

/// One category across members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryDistribution {
    /// The category.
    pub category: String,
    /// Its title.
    pub title: String,
    /// Members that assessed it.
    pub assessed: u32,
    /// How many members are at tier 1, 2, 3, 4.
    pub current: [u32; 4],
    /// How many aim at tier 1, 2, 3, 4.
    pub target: [u32; 4],
    /// Mean gap (target minus current), in thousandths.
    pub mean_gap_milli: i64,
    /// Members whose current tier is below their target.
    pub below_target: u32,
}

/// The distribution per category of `catalogue` over the whole-organisation profiles of
/// `assessments` (each member's latest; those of another catalogue version are skipped).
pub fn regional(catalogue: &Catalogue, assessments: &[SelfAssessment]) -> Vec<CategoryDistribution> {
    catalogue
        .categories()
        .map(|category| {
            let mut out = CategoryDistribution {
                category: category.id.clone(),
                title: category.title.clone(),
                assessed: 0,
                current: [0; 4],
                target: [0; 4],
                mean_gap_milli: 0,
                below_target: 0,
            };
            let mut gap_sum: i64 = 0;
            let tiers = assessments
                .iter()
                .filter(|a| a.catalogue == catalogue.version)
                .filter_map(|a| a.organisation())
                .filter_map(|profile| profile.tiers.iter().find(|t| t.category == category.id));
            for tier in tiers {
                // Tiers are checked at submission (1 to 4); the indexes cannot miss.
                let (Some(current), Some(target)) = (
                    out.current.get_mut(usize::from(tier.current.saturating_sub(1))),
                    out.target.get_mut(usize::from(tier.target.saturating_sub(1))),
                ) else {
                    continue;
                };
                *current += 1;
                *target += 1;
                out.assessed += 1;
                gap_sum += i64::from(tier.target) - i64::from(tier.current);
                if tier.current < tier.target {
                    out.below_target += 1;
                }
            }
            if out.assessed > 0 {
                out.mean_gap_milli = gap_sum * 1000 / i64::from(out.assessed);
            }
            out
        })
        .collect()
}
