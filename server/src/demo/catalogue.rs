//! The scaled fleet's catalogue: real vulnerabilities in real package versions, the
//! Kubernetes checks and secret rules Trivy reports, and which of those CVEs CISA lists as
//! known exploited. Read once from `server/fixtures/demo/catalogue.tsv` (extracted from the
//! shared scanner samples by the script beside it; its first line says from where) and from the
//! small fleet's own table. Pure data; what the fleet does with it is [`super::fleet`].

use std::collections::HashSet;
use std::sync::OnceLock;

use app::model::Severity;

use super::small_catalogue::{ALPINE, DEBIAN, GO, INGRESS, JAVA, NODE, Vuln};

const TABLE: &str = include_str!("../../fixtures/demo/catalogue.tsv");

/// Where a package comes from: an OS distribution or a language ecosystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Debian packages (the base of most images).
    Debian,
    /// Alpine packages.
    Alpine,
    /// npm packages.
    Npm,
    /// Python packages.
    Pypi,
    /// Go modules and the Go standard library.
    Golang,
    /// Maven artifacts.
    Maven,
}

impl Family {
    /// Every family, OS distributions first.
    pub const ALL: [Family; 6] = [
        Family::Debian,
        Family::Alpine,
        Family::Npm,
        Family::Pypi,
        Family::Golang,
        Family::Maven,
    ];

    fn parse(word: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.word() == word)
    }

    /// The word the table uses.
    pub fn word(self) -> &'static str {
        match self {
            Family::Debian => "debian",
            Family::Alpine => "alpine",
            Family::Npm => "npm",
            Family::Pypi => "pypi",
            Family::Golang => "golang",
            Family::Maven => "maven",
        }
    }

    /// The package type as Trivy names it (what `Component::from_parts` reads).
    pub fn ecosystem(self) -> &'static str {
        match self {
            Family::Debian => "debian",
            Family::Alpine => "alpine",
            Family::Npm => "node-pkg",
            Family::Pypi => "python-pkg",
            Family::Golang => "gobinary",
            Family::Maven => "jar",
        }
    }

    /// Where a scanner finds these packages in an image.
    pub fn target(self) -> &'static str {
        match self {
            Family::Debian | Family::Alpine => "os",
            Family::Npm => "app/node_modules",
            Family::Pypi => "usr/local/lib/python3.11/site-packages",
            Family::Golang => "usr/local/bin/app",
            Family::Maven => "app/app.jar",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A vulnerability in one version of one package.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where the package comes from.
    pub family: Family,
    /// Package name.
    pub package: &'static str,
    /// The vulnerable version installed.
    pub installed: &'static str,
    /// The version that fixes it, if any.
    pub fixed: Option<&'static str>,
    /// CVE id.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// CVSS v3 vector, when the advisory gives one.
    pub vector: Option<&'static str>,
    /// One line.
    pub title: &'static str,
}

/// A rule of the other kinds (a Kubernetes check, a secret rule).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule id.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// One line.
    pub title: &'static str,
}

/// The whole catalogue.
#[derive(Debug)]
pub struct Catalogue {
    /// Every vulnerability entry.
    pub entries: Vec<Entry>,
    /// Per family: its packages, most common first, each with the indexes of its entries.
    pub packages: [Vec<Vec<u32>>; 6],
    /// Kubernetes configuration checks.
    pub checks: Vec<Rule>,
    /// Secret rules.
    pub secrets: Vec<Rule>,
    /// Known exploited CVEs with the date CISA added them (`YYYY-MM-DD`).
    pub kev: Vec<(&'static str, &'static str)>,
    /// Where the table comes from (its first line).
    pub provenance: &'static str,
}

impl Catalogue {
    /// The catalogue, read once.
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(Catalogue::read)
    }

    /// The packages of `family`, most common first.
    pub fn packages_of(&self, family: Family) -> &[Vec<u32>] {
        &self.packages[family.index()]
    }

    fn read() -> Catalogue {
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        let mut checks = Vec::new();
        let mut secrets = Vec::new();
        let mut kev = Vec::new();
        let mut provenance = "";
        // The small fleet's table first: its packages (glibc, OpenSSL, curl, log4j) are the
        // ones every fleet has, so they lead the "most common" order below.
        let small: [(&[Vuln], Family); 6] = [
            (DEBIAN, Family::Debian),
            (ALPINE, Family::Alpine),
            (NODE, Family::Npm),
            (JAVA, Family::Maven),
            (GO, Family::Golang),
            (INGRESS, Family::Golang),
        ];
        for (table, family) in small {
            for v in table {
                if seen.insert((family, v.package_key(), v.id)) {
                    entries.push(Entry {
                        family,
                        package: v.pkg,
                        installed: v.installed,
                        fixed: Some(v.fixed).filter(|f| !f.is_empty()),
                        id: v.id,
                        severity: Severity::parse(v.severity).unwrap_or(Severity::Unknown),
                        vector: Some(v.vector),
                        title: v.title,
                    });
                }
            }
        }
        let small_len = entries.len();
        for line in TABLE.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                provenance = comment;
                continue;
            }
            let cols: Vec<&'static str> = line.split('\t').collect();
            match cols.as_slice() {
                [
                    "V",
                    family,
                    _,
                    package,
                    installed,
                    fixed,
                    id,
                    severity,
                    vector,
                    title,
                ] => {
                    let Some(family) = Family::parse(family) else {
                        continue;
                    };
                    if seen.insert((family, (*package, *installed), *id)) {
                        entries.push(Entry {
                            family,
                            package,
                            installed,
                            fixed: Some(*fixed).filter(|f| !f.is_empty()),
                            id,
                            severity: Severity::parse(severity).unwrap_or(Severity::Unknown),
                            vector: Some(*vector).filter(|v| !v.is_empty()),
                            title,
                        });
                    }
                }
                ["M", id, severity, title] => checks.push(rule(id, severity, title)),
                ["S", id, severity, title] => secrets.push(rule(id, severity, title)),
                ["K", id, added] => kev.push((*id, *added)),
                _ => {}
            }
        }
        let packages = Family::ALL.map(|family| packages(&entries, family, small_len));
        Catalogue {
            entries,
            packages,
            checks,
            secrets,
            kev,
            provenance,
        }
    }
}

impl Vuln {
    fn package_key(&self) -> (&'static str, &'static str) {
        (self.pkg, self.installed)
    }
}

fn rule(id: &'static str, severity: &str, title: &'static str) -> Rule {
    Rule {
        id,
        severity: Severity::parse(severity).unwrap_or(Severity::Unknown),
        title,
    }
}

/// The packages (name and version) of `family` with their entries: the small fleet's first,
/// then the others in a fixed order that mixes sources and package names.
fn packages(entries: &[Entry], family: Family, small_len: usize) -> Vec<Vec<u32>> {
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut by_package: std::collections::HashMap<(&str, &str), Vec<u32>> =
        std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if e.family != family {
            continue;
        }
        let key = (e.package, e.installed);
        let list = by_package.entry(key).or_default();
        if list.is_empty() {
            order.push(key);
        }
        list.push(u32::try_from(i).unwrap_or(u32::MAX));
    }
    let small = order
        .iter()
        .take_while(|k| {
            by_package[*k]
                .first()
                .is_some_and(|&i| (i as usize) < small_len)
        })
        .count();
    order[small..].sort_by_key(|(name, version)| mix(name, version));
    order
        .into_iter()
        .filter_map(|k| by_package.remove(&k))
        .collect()
}

/// A stable hash of a package (FNV-1a), to order the table's packages without favouring one
/// source or one end of the alphabet.
fn mix(name: &str, version: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes().chain([0]).chain(version.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_holds_real_entries_of_every_family_and_names_its_source() {
        let c = Catalogue::get();
        assert!(c.provenance.contains("BSD-3-Clause"), "{}", c.provenance);
        assert!(c.entries.len() > 1500, "{}", c.entries.len());
        for family in Family::ALL {
            assert!(!c.packages_of(family).is_empty(), "{family:?}");
        }
        // CVEs, and the advisories of GitHub, the Node security WG and Debian's tracker
        let prefixes = ["CVE-", "GHSA-", "NSWG-ECO-", "TEMP-"];
        assert!(
            c.entries
                .iter()
                .all(|e| prefixes.iter().any(|p| e.id.starts_with(p)))
        );
        let cves = c
            .entries
            .iter()
            .filter(|e| e.id.starts_with("CVE-"))
            .count();
        assert!(
            cves * 100 > c.entries.len() * 98,
            "{cves} of {}",
            c.entries.len()
        );
        assert!(c.checks.len() >= 20 && !c.secrets.is_empty());
        assert!(c.kev.iter().any(|(id, _)| *id == "CVE-2021-44228"));
        // the small fleet's glibc leads Debian's packages
        let first = &c.packages_of(Family::Debian)[0];
        assert_eq!(c.entries[first[0] as usize].package, "libc6");
    }
}
