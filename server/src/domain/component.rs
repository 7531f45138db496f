//! Software components (packages) and their identity across scanners.
//!
//! The key is `<ecosystem>/<name>@<version>` with the ecosystem named as a purl type (`deb`,
//! `npm`, `maven`, ...). Distribution namespaces of OS packages (`pkg:deb/debian/...`) and purl
//! qualifiers (`arch`, `distro`) are left out: scanners spell them differently for the same
//! package in the same image, and the image is part of the finding's identity anyway.

use std::str::FromStr;

use packageurl::PackageUrl;

/// A package as the finding model knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Component {
    /// purl type: deb, rpm, apk, npm, maven, pypi, golang, cargo, gem, nuget, ...
    pub ecosystem: String,
    /// Name, with its namespace where the namespace is part of the identity (maven group,
    /// npm scope, go module path).
    pub name: String,
    /// Installed version, as the scanner reports it.
    pub version: String,
    /// The package URL as reported, when there was one.
    pub purl: Option<String>,
}

/// purl types whose namespace is the distribution, not part of the package's name.
const OS_TYPES: &[&str] = &["deb", "rpm", "apk", "alpm", "qpkg"];

impl Component {
    /// From a package URL. Returns `None` when it does not parse or has no version.
    pub fn from_purl(purl: &str) -> Option<Component> {
        let parsed = PackageUrl::from_str(purl).ok()?;
        let ecosystem = parsed.ty().to_ascii_lowercase();
        let version = parsed.version()?.to_owned();
        let name = match parsed.namespace() {
            Some(ns) if !ns.is_empty() && !OS_TYPES.contains(&ecosystem.as_str()) => {
                format!("{ns}/{}", parsed.name())
            }
            _ => parsed.name().to_owned(),
        };
        Some(Component {
            ecosystem,
            name,
            version,
            purl: Some(purl.to_owned()),
        })
    }

    /// From an ecosystem word as scanners use it ("debian", "npm", "jar", "gobinary", ...),
    /// a package name and a version.
    pub fn from_parts(ecosystem: &str, name: &str, version: &str) -> Component {
        let ecosystem = ecosystem_of(ecosystem);
        // maven coordinates are "group:artifact" in most scanners, "group/artifact" in purls
        let name = if ecosystem == "maven" {
            name.replacen(':', "/", 1)
        } else {
            name.to_owned()
        };
        Component {
            ecosystem: ecosystem.to_owned(),
            name,
            version: version.to_owned(),
            purl: None,
        }
    }

    /// The identity key stored in `component.key`.
    pub fn key(&self) -> String {
        format!("{}/{}@{}", self.ecosystem, self.name, self.version)
    }
}

/// Maps a scanner's package-type word onto a purl type.
pub fn ecosystem_of(word: &str) -> &str {
    match word.to_ascii_lowercase().as_str() {
        "debian" | "ubuntu" | "deb" | "dpkg" | "distroless" => "deb",
        "alpine" | "wolfi" | "chainguard" | "apk" => "apk",
        "redhat"
        | "centos"
        | "rocky"
        | "alma"
        | "almalinux"
        | "amazon"
        | "oracle"
        | "fedora"
        | "photon"
        | "suse"
        | "opensuse"
        | "opensuse.leap"
        | "opensuse.tumbleweed"
        | "sles"
        | "cbl-mariner"
        | "azurelinux"
        | "rpm" => "rpm",
        "arch" | "alpm" => "alpm",
        "npm" | "yarn" | "pnpm" | "node-pkg" | "bun" => "npm",
        "jar" | "pom" | "gradle" | "sbt" | "java" | "java-archive" | "maven" => "maven",
        "pip" | "pipenv" | "poetry" | "python-pkg" | "uv" | "python" | "pypi" | "wheel" | "egg" => {
            "pypi"
        }
        "gobinary" | "gomod" | "go" | "go-module" | "golang" => "golang",
        "cargo" | "rust-binary" | "rust-crate" | "rust" => "cargo",
        "bundler" | "gemspec" | "gem" | "ruby" => "gem",
        "nuget" | "dotnet-core" | "packages-props" | "dotnet" => "nuget",
        "composer" | "composer-vendor" | "php-composer" | "php" => "composer",
        "conan" => "conan",
        "cocoapods" | "pod" => "cocoapods",
        "swift" => "swift",
        "pub" | "dart" => "pub",
        "hex" | "mix" | "erlang" => "hex",
        "conda-pkg" | "conda-environment" | "conda" => "conda",
        "julia" => "julia",
        "binary" => "generic",
        _ => "generic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_package_purls_drop_the_distro() {
        let c = Component::from_purl("pkg:deb/debian/libc6@2.28-10?arch=amd64&distro=debian-10.9")
            .unwrap();
        assert_eq!(c.key(), "deb/libc6@2.28-10");
    }

    #[test]
    fn maven_agrees_between_purl_and_coordinates() {
        let from_purl =
            Component::from_purl("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").unwrap();
        let from_parts =
            Component::from_parts("jar", "org.apache.logging.log4j:log4j-core", "2.14.1");
        assert_eq!(from_purl.key(), from_parts.key());
    }

    #[test]
    fn scoped_npm_packages_keep_their_scope() {
        let c = Component::from_purl("pkg:npm/%40babel/traverse@7.22.5").unwrap();
        assert_eq!(c.key(), "npm/@babel/traverse@7.22.5");
    }

    #[test]
    fn unknown_words_are_generic() {
        assert_eq!(ecosystem_of("debian"), "deb");
        assert_eq!(ecosystem_of("something-new"), "generic");
    }
}
