//! The scaled fleet as a plan, generated from a seed: clusters on four providers, the
//! workloads each runs, the images behind them (platform images in most clusters, application
//! images of many teams), what is in each image over time, and when each cluster is scanned.
//! Pure and deterministic: the same [`Size`] gives the same fleet, field for field. Turning the
//! plan into reports is [`super::scaled`].
//!
//! Shape, as real fleets have it: a few images hold most findings and a long tail holds few or
//! none; images of one OS share their base layer's packages (the most common packages of a
//! family come first and most images have them); an image changes on a few days (a rebuild
//! fixes some findings, a new advisory adds some, a rollback brings a fix back), so most scans
//! confirm what the last one said.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::catalogue::{Catalogue, Family};
pub(super) use super::fleet_names::SECRET_FILES;
use super::fleet_names::{PLATFORM, PROVIDERS, ROLES, TEAMS};

/// How big a fleet, over how long, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Clusters.
    pub clusters: u32,
    /// Findings the history creates (within a few per cent).
    pub findings: u64,
    /// Days of history, ending now.
    pub days: u32,
    /// Seed of every random choice.
    pub seed: u64,
}

/// A cluster and what it runs.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Name.
    pub name: String,
    /// aws, gcp, azure, onprem.
    pub provider: &'static str,
    /// prod, staging, dev.
    pub environment: &'static str,
    /// Region or data centre.
    pub region: &'static str,
    /// Cloud account, for cloud clusters.
    pub account: Option<String>,
    /// 1 to 5.
    pub criticality: i16,
    /// Days on which the cluster's scanner reports, ascending; the last is today (`days`).
    pub scans: Vec<u16>,
    /// Minutes after midnight at which its scans run.
    pub minute: u16,
    /// Its workloads.
    pub workloads: Vec<Workload>,
    /// Days on which its workloads' failed checks change (a policy rolled out), ascending.
    pub check_changes: Vec<u16>,
}

/// A workload and its one container.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Namespace.
    pub namespace: String,
    /// Kubernetes kind.
    pub kind: &'static str,
    /// Name (also the container's).
    pub name: String,
    /// Index into [`Fleet::images`].
    pub image: u32,
    /// Reachable from the internet.
    pub internet_facing: bool,
    /// Privileged, with host mounts.
    pub privileged: bool,
    /// Failed configuration checks (items index [`Catalogue::checks`]).
    pub checks: Vec<Slot>,
}

/// An image and what a scanner finds in it over time.
#[derive(Debug, Clone)]
pub struct Image {
    /// `registry/repository:tag`.
    pub reference: String,
    /// Its OS, if it has one.
    pub os: Option<Family>,
    /// The language of what runs in it.
    pub lang: Family,
    /// What is in it (items index [`Catalogue::entries`], or [`Catalogue::secrets`] for
    /// secrets).
    pub slots: Vec<Slot>,
    /// Days on which its content changes, ascending.
    pub changes: Vec<u16>,
}

/// Day value for "never".
pub const NEVER: u16 = u16::MAX;

/// One finding's presence over time: from `start`, gone from `end`, back from `reopen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// What is found.
    pub item: Item,
    /// First day present.
    pub start: u16,
    /// First day gone (fixed), or [`NEVER`].
    pub end: u16,
    /// First day back after the fix, or [`NEVER`].
    pub reopen: u16,
}

impl Slot {
    /// Whether a scan on `day` finds it.
    pub fn present(&self, day: u16) -> bool {
        day >= self.start && !(day >= self.end && day < self.reopen)
    }
}

/// What a slot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A vulnerability: index into [`Catalogue::entries`].
    Vulnerability(u32),
    /// An exposed secret: index into [`Catalogue::secrets`], and which file.
    Secret(u16, u16),
    /// A failed check: index into [`Catalogue::checks`].
    Check(u16),
}

/// The fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Clusters.
    pub clusters: Vec<Cluster>,
    /// Images.
    pub images: Vec<Image>,
    /// Days of history.
    pub days: u16,
}

/// Counts that describe a fleet (and that a test can compare).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Clusters.
    pub clusters: usize,
    /// Workloads.
    pub workloads: usize,
    /// Distinct images.
    pub images: usize,
    /// Images with no finding at all.
    pub clean_images: usize,
    /// Findings the history creates: one per cluster and slot seen by at least one scan.
    pub findings: u64,
    /// Reports the history sends.
    pub reports: usize,
}

impl Fleet {
    /// The fleet of `size`.
    pub fn generate(size: Size, catalogue: &Catalogue) -> Fleet {
        let mut rng = StdRng::seed_from_u64(size.seed);
        let days = u16::try_from(size.days).unwrap_or(u16::MAX - 1);
        let n = size.findings as f64;
        // ~50 findings per image (20,000 images at a million), ~10% more workloads than images
        let target_images = (n / 50.0).clamp(8.0, 20_000.0);
        let per_cluster = ((target_images * 1.1 / f64::from(size.clusters)).round() as usize)
            .clamp(PLATFORM.len() / 2 + 2, 160);
        let mut images: Vec<Image> = Vec::new();
        let mut image_index = std::collections::HashMap::<String, u32>::new();
        let mut intern = |images: &mut Vec<Image>, reference: String, os: Option<Family>, lang| {
            *image_index.entry(reference.clone()).or_insert_with(|| {
                images.push(Image {
                    reference,
                    os,
                    lang,
                    slots: Vec::new(),
                    changes: Vec::new(),
                });
                u32::try_from(images.len() - 1).unwrap_or(u32::MAX)
            })
        };
        // application services: a pool about as big as the placements, so most run in one or
        // two clusters
        let apps = per_cluster.saturating_sub(PLATFORM.len()).max(2);
        let pool = (apps * size.clusters as usize * 3 / 4).max(apps + 1);
        let mut clusters = Vec::with_capacity(size.clusters as usize);
        for c in 0..size.clusters as usize {
            // the first four clusters take one provider each, the rest a weighted draw
            let (provider, regions) = PROVIDERS
                .get(c)
                .copied()
                .unwrap_or_else(|| PROVIDERS[pick_weighted(&mut rng, &[35, 25, 25, 15])]);
            let region = regions[rng.random_range(0..regions.len())];
            let environment = ["prod", "staging", "dev"][pick_weighted(&mut rng, &[40, 30, 30])];
            // prod is scanned twice a week, staging every five days, dev weekly
            let (criticality, interval) = match environment {
                "prod" => (rng.random_range(4..=5), 4),
                "staging" => (3, 5),
                _ => (2, 7),
            };
            let account = (provider != "onprem")
                .then(|| format!("{provider}-{:06}", rng.random_range(0..1_000_000)));
            let mut scans = vec![0u16];
            let mut day = rng.random_range(1..=interval);
            while day < days {
                scans.push(day);
                day += interval;
            }
            if days > 0 {
                scans.push(days);
            }
            let mut workloads = Vec::new();
            for p in PLATFORM {
                if rng.random_bool(0.85) {
                    // five releases in use: clusters share each, but not all of them one
                    let tag = ["v1", "v2", "v3", "v4", "v5"][rng.random_range(0..5)];
                    let image = intern(&mut images, format!("{}:{tag}", p.0), p.3, p.4);
                    let name = p.0.rsplit('/').next().unwrap_or(p.0).to_owned();
                    workloads.push(Workload {
                        namespace: p.1.to_owned(),
                        kind: p.2,
                        name,
                        image,
                        internet_facing: p.5,
                        privileged: p.6,
                        checks: Vec::new(),
                    });
                }
            }
            let mut chosen = std::collections::HashSet::new();
            while chosen.len() < apps.min(pool) {
                chosen.insert(rng.random_range(0..pool));
            }
            let mut chosen: Vec<usize> = chosen.into_iter().collect();
            chosen.sort_unstable();
            for s in chosen {
                let team = TEAMS[s % TEAMS.len()];
                let role = ROLES[(s / TEAMS.len()) % ROLES.len()];
                let name = format!("{team}-{role}-{}", s / (TEAMS.len() * ROLES.len()));
                let release = rng.random_range(0..8);
                let os = match s % 10 {
                    0..=5 => Some(Family::Debian),
                    6..=7 => Some(Family::Alpine),
                    _ => None,
                };
                let lang = match s % 7 {
                    0..=2 => Family::Npm,
                    3..=4 => Family::Pypi,
                    5 => Family::Golang,
                    _ => Family::Maven,
                };
                let reference = format!("ghcr.io/acme/{name}:1.{}.{release}", s % 17);
                let image = intern(&mut images, reference, os, lang);
                let kind = [
                    "Deployment",
                    "Deployment",
                    "Deployment",
                    "StatefulSet",
                    "CronJob",
                ][s % 5];
                workloads.push(Workload {
                    namespace: team.to_owned(),
                    kind,
                    name,
                    image,
                    internet_facing: matches!(role, "api" | "web" | "gateway")
                        && rng.random_bool(0.4),
                    privileged: rng.random_bool(0.03),
                    checks: Vec::new(),
                });
            }
            clusters.push(Cluster {
                name: format!("{environment}-{provider}-{region}-{c:03}"),
                provider,
                environment,
                region,
                account,
                criticality,
                scans,
                minute: rng.random_range(0..600),
                workloads,
                check_changes: Vec::new(),
            });
        }
        let mut fleet = Fleet {
            clusters,
            images,
            days,
        };
        fleet.fill_images(&mut rng, catalogue, n * 0.96);
        fleet.fill_checks(&mut rng, catalogue, n * 0.06);
        fleet
    }

    /// Gives every image its findings: `budget` vulnerabilities and secrets over the fleet,
    /// shared out by a heavy-tailed weight (three in ten images are clean) times the clusters
    /// running the image.
    fn fill_images(&mut self, rng: &mut StdRng, catalogue: &Catalogue, budget: f64) {
        let mut runs = vec![0u32; self.images.len()];
        for c in &self.clusters {
            for w in &c.workloads {
                runs[w.image as usize] += 1;
            }
        }
        // whole packages are taken and some skipped: an image holds about four fifths of what
        // its families list
        let caps: Vec<f64> = self
            .images
            .iter()
            .map(|i| capacity(catalogue, i) as f64 * 0.8)
            .collect();
        let mut weights: Vec<f64> = (0..self.images.len())
            .map(|_| {
                if rng.random_bool(0.3) {
                    0.0
                } else {
                    // Pareto, alpha 1.05: about the 80/20 of real fleets
                    (1.0 - rng.random::<f64>()).powf(-1.0 / 1.05).min(1000.0)
                }
            })
            .collect();
        let mut counts = vec![0f64; self.images.len()];
        // share out, then hand what capped images cannot hold to the others (a few rounds)
        let mut left = budget;
        for _ in 0..4 {
            let total: f64 = weights
                .iter()
                .zip(&runs)
                .map(|(w, r)| w * f64::from(*r))
                .sum();
            if total <= 0.0 || left < 1.0 {
                break;
            }
            let mut spilled = 0.0;
            for i in 0..counts.len() {
                let want = counts[i] + left * weights[i] / total;
                counts[i] = want.min(caps[i]);
                spilled += (want - counts[i]) * f64::from(runs[i]);
                if counts[i] >= caps[i] {
                    weights[i] = 0.0;
                }
            }
            left = spilled;
        }
        let days = self.days;
        for (i, image) in self.images.iter_mut().enumerate() {
            let count = counts[i].round() as usize;
            image.changes = change_days(rng, days, 1..=3);
            let mut items = pick_items(rng, catalogue, image, count);
            if count > 0 && rng.random_bool(0.05) {
                let rule = rng.random_range(0..catalogue.secrets.len().max(1));
                let file = rng.random_range(0..SECRET_FILES.len());
                items.push(Item::Secret(rule as u16, file as u16));
            }
            image.slots = items
                .into_iter()
                .map(|item| timeline(rng, item, &image.changes))
                .collect();
        }
    }

    /// Gives workloads failed checks: `budget` over the fleet, about the same per workload.
    fn fill_checks(&mut self, rng: &mut StdRng, catalogue: &Catalogue, budget: f64) {
        let workloads: usize = self.clusters.iter().map(|c| c.workloads.len()).sum();
        let mean = (budget / workloads.max(1) as f64).min(catalogue.checks.len() as f64 / 2.0);
        let days = self.days;
        for c in &mut self.clusters {
            c.check_changes = change_days(rng, days, 1..=2);
            let changes = &c.check_changes;
            for w in &mut c.workloads {
                let k = rng.random_range(0.0..=2.0 * mean).round() as usize;
                let mut picked = std::collections::BTreeSet::new();
                while picked.len() < k.min(catalogue.checks.len()) {
                    picked.insert(rng.random_range(0..catalogue.checks.len()) as u16);
                }
                w.checks = picked
                    .into_iter()
                    .map(|i| timeline(rng, Item::Check(i), changes))
                    .collect();
            }
        }
    }

    /// The counts that describe the fleet.
    pub fn summary(&self) -> Summary {
        let mut findings = 0u64;
        let mut reports = 0;
        for c in &self.clusters {
            reports += c.scans.len();
            let mut seen = std::collections::HashSet::new();
            for w in &c.workloads {
                findings += w
                    .checks
                    .iter()
                    .filter(|s| c.scans.iter().any(|d| s.present(*d)))
                    .count() as u64;
                if seen.insert(w.image) {
                    let image = &self.images[w.image as usize];
                    findings += image
                        .slots
                        .iter()
                        .filter(|s| c.scans.iter().any(|d| s.present(*d)))
                        .count() as u64;
                }
            }
        }
        Summary {
            clusters: self.clusters.len(),
            workloads: self.clusters.iter().map(|c| c.workloads.len()).sum(),
            images: self.images.len(),
            clean_images: self.images.iter().filter(|i| i.slots.is_empty()).count(),
            findings,
            reports,
        }
    }
}

/// How many findings an image of this OS and language can hold.
fn capacity(catalogue: &Catalogue, image: &Image) -> usize {
    families(image)
        .iter()
        .map(|f| {
            catalogue
                .packages_of(*f)
                .iter()
                .map(Vec::len)
                .sum::<usize>()
        })
        .sum()
}

/// The package families of an image: its OS, then the language of its application.
fn families(image: &Image) -> Vec<Family> {
    image.os.into_iter().chain([image.lang]).collect()
}

/// `count` vulnerabilities for an image: whole packages, most common first (each skipped now
/// and then), so images of one OS share their base layer's packages.
fn pick_items(rng: &mut StdRng, catalogue: &Catalogue, image: &Image, count: usize) -> Vec<Item> {
    let families = families(image);
    let mut items = Vec::with_capacity(count);
    // OS packages get two thirds of the image's findings when it has an OS
    let shares: Vec<usize> = match families.len() {
        2 => vec![count * 2 / 3, count - count * 2 / 3],
        _ => vec![count],
    };
    let mut carry = 0;
    for (family, share) in families.iter().zip(shares) {
        let want = share + carry;
        let mut taken = 0;
        for package in catalogue.packages_of(*family) {
            if taken >= want {
                break;
            }
            if rng.random_bool(0.15) {
                continue;
            }
            for &entry in package.iter().take(want - taken) {
                items.push(Item::Vulnerability(entry));
                taken += 1;
            }
        }
        carry = want - taken;
    }
    items
}

/// `range` distinct days of change within the history, ascending.
fn change_days(rng: &mut StdRng, days: u16, range: std::ops::RangeInclusive<usize>) -> Vec<u16> {
    if days < 2 {
        return Vec::new();
    }
    let count = rng.random_range(range);
    let mut changes: Vec<u16> = (0..count).map(|_| rng.random_range(1..days)).collect();
    changes.sort_unstable();
    changes.dedup();
    changes
}

/// When an item is present: most from the start, some from a change day; three in ten fixed on
/// a later change day, and one fix in ten undone on a change day after that.
fn timeline(rng: &mut StdRng, item: Item, changes: &[u16]) -> Slot {
    let mut slot = Slot {
        item,
        start: 0,
        end: NEVER,
        reopen: NEVER,
    };
    let pick = |rng: &mut StdRng, after: u16| -> Option<u16> {
        let later: Vec<u16> = changes.iter().copied().filter(|d| *d > after).collect();
        (!later.is_empty()).then(|| later[rng.random_range(0..later.len())])
    };
    if rng.random_bool(0.22)
        && let Some(day) = pick(rng, 0)
    {
        slot.start = day;
    }
    if rng.random_bool(0.3)
        && let Some(day) = pick(rng, slot.start)
    {
        slot.end = day;
        if rng.random_bool(0.1)
            && let Some(back) = pick(rng, day)
        {
            slot.reopen = back;
        }
    }
    slot
}

fn pick_weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    weights.len() - 1
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
