//! The generator's promises: determinism, size, skew and shared base packages.

use std::collections::HashMap;

use super::*;

fn size(seed: u64) -> Size {
    Size {
        clusters: 12,
        findings: 40_000,
        days: 90,
        seed,
    }
}

#[test]
fn the_same_seed_gives_the_same_fleet_and_another_seed_another() {
    let c = Catalogue::get();
    let a = Fleet::generate(size(7), c);
    let b = Fleet::generate(size(7), c);
    assert_eq!(a.summary(), b.summary());
    let names = |f: &Fleet| {
        f.clusters
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    assert!(
        a.images
            .iter()
            .zip(&b.images)
            .all(|(x, y)| x.reference == y.reference
                && x.slots == y.slots
                && x.changes == y.changes)
    );
    let other = Fleet::generate(size(8), c);
    assert_ne!(a.summary(), other.summary());
}

#[test]
fn the_fleet_has_the_size_asked_for_on_four_providers_and_three_environments() {
    let fleet = Fleet::generate(size(7), Catalogue::get());
    let s = fleet.summary();
    assert_eq!(s.clusters, 12);
    let wanted = 40_000.0;
    assert!(
        (s.findings as f64 - wanted).abs() / wanted < 0.1,
        "{} findings for {wanted}",
        s.findings
    );
    let mut providers: Vec<&str> = fleet.clusters.iter().map(|c| c.provider).collect();
    providers.sort_unstable();
    providers.dedup();
    assert_eq!(providers, ["aws", "azure", "gcp", "onprem"]);
    let environments: std::collections::HashSet<&str> =
        fleet.clusters.iter().map(|c| c.environment).collect();
    assert_eq!(environments.len(), 3, "{environments:?}");
    for c in &fleet.clusters {
        assert_eq!(c.scans.first(), Some(&0));
        assert_eq!(c.scans.last(), Some(&90));
        assert!(c.scans.windows(2).all(|w| w[0] < w[1]), "{:?}", c.scans);
        let names: std::collections::HashSet<(&str, &str)> = c
            .workloads
            .iter()
            .map(|w| (w.namespace.as_str(), w.name.as_str()))
            .collect();
        assert_eq!(names.len(), c.workloads.len(), "workload names are unique");
    }
}

#[test]
fn a_few_images_hold_most_findings_and_many_are_clean() {
    let fleet = Fleet::generate(size(7), Catalogue::get());
    let mut counts: Vec<usize> = fleet.images.iter().map(|i| i.slots.len()).collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let total: usize = counts.iter().sum();
    let top_tenth: usize = counts.iter().take(counts.len() / 10).sum();
    assert!(
        top_tenth * 2 > total,
        "the top tenth holds {top_tenth} of {total}"
    );
    let clean = counts.iter().filter(|c| **c == 0).count();
    assert!(
        clean * 5 > counts.len(),
        "{clean} clean of {}",
        counts.len()
    );
}

#[test]
fn images_of_one_os_share_their_base_packages() {
    let c = Catalogue::get();
    let fleet = Fleet::generate(size(7), c);
    let debian: Vec<&Image> = fleet
        .images
        .iter()
        .filter(|i| i.os == Some(Family::Debian) && !i.slots.is_empty())
        .collect();
    let mut packages: HashMap<&str, usize> = HashMap::new();
    for image in &debian {
        let mut seen = std::collections::HashSet::new();
        for slot in &image.slots {
            if let Item::Vulnerability(e) = slot.item {
                let entry = &c.entries[e as usize];
                if entry.family == Family::Debian && seen.insert(entry.package) {
                    *packages.entry(entry.package).or_default() += 1;
                }
            }
        }
    }
    let most = packages.values().copied().max().unwrap_or_default();
    assert!(
        most * 2 > debian.len(),
        "the most common Debian package is in {most} of {} images",
        debian.len()
    );
}

#[test]
fn history_has_new_fixed_and_reopened_findings() {
    let fleet = Fleet::generate(size(7), Catalogue::get());
    let slots = || fleet.images.iter().flat_map(|i| &i.slots);
    assert!(slots().any(|s| s.start > 0), "findings appear later");
    assert!(
        slots().any(|s| s.end != NEVER && s.reopen == NEVER),
        "fixed"
    );
    assert!(slots().any(|s| s.reopen != NEVER), "reopened");
    let present_at_start = slots().filter(|s| s.present(0)).count();
    assert!(present_at_start * 2 > slots().count());
    let secrets = slots()
        .filter(|s| matches!(s.item, Item::Secret(..)))
        .count();
    let checks: usize = fleet
        .clusters
        .iter()
        .flat_map(|c| &c.workloads)
        .map(|w| w.checks.len())
        .sum();
    assert!(
        secrets > 0 && checks > 0,
        "{secrets} secrets, {checks} checks"
    );
}
