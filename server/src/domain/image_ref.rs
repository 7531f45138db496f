//! Container image references ("nginx:1.25", "ghcr.io/acme/app@sha256:...") parsed into
//! registry, repository, tag and digest, normalised the way the Docker distribution reference
//! grammar does (implicit `docker.io` registry and `library/` namespace), so that different
//! scanners naming the same image agree.

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (and port), `docker.io` when the reference names none.
    pub registry: String,
    /// Repository path within the registry.
    pub repository: String,
    /// Tag, when given.
    pub tag: Option<String>,
    /// Content digest (`sha256:...`), when given.
    pub digest: Option<String>,
}

/// Why a reference was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    /// Empty or whitespace.
    #[error("the image reference is empty")]
    Empty,
    /// Characters no image reference contains.
    #[error("'{0}' is not an image reference")]
    Invalid(String),
}

impl ImageRef {
    /// Parses a reference.
    pub fn parse(reference: &str) -> Result<ImageRef, ImageRefError> {
        let reference = reference.trim();
        if reference.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ImageRefError::Invalid(reference.to_owned()));
        }
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, Some(normalise_digest(digest)?)),
            None => (reference, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (&name_and_tag[..at], Some(name_and_tag[at + 1..].to_owned()))
            }
            None => (name_and_tag, None),
        };
        if name.is_empty() || tag.as_deref() == Some("") {
            return Err(ImageRefError::Invalid(reference.to_owned()));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
            _ => registry,
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.is_empty() {
            return Err(ImageRefError::Invalid(reference.to_owned()));
        }
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// "registry/repository:tag" (or without the tag).
    pub fn name_with_tag(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{}/{}:{tag}", self.registry, self.repository),
            None => format!("{}/{}", self.registry, self.repository),
        }
    }
}

/// Checks a digest's shape (`algorithm:hex`) and lowercases it.
pub fn normalise_digest(digest: &str) -> Result<String, ImageRefError> {
    let digest = digest.trim().to_ascii_lowercase();
    match digest.split_once(':') {
        Some((algorithm, hex))
            if !algorithm.is_empty()
                && algorithm.bytes().all(|b| b.is_ascii_alphanumeric())
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(digest)
        }
        _ => Err(ImageRefError::Invalid(digest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn docker_hub_short_names_get_registry_and_library() {
        let r = parse("alpine:3.19");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/alpine");
        assert_eq!(r.tag.as_deref(), Some("3.19"));
        assert_eq!(parse("docker.io/library/alpine:3.19"), r);
        assert_eq!(parse("index.docker.io/library/alpine:3.19"), r);
    }

    #[test]
    fn registries_with_ports_are_not_tags() {
        let r = parse("localhost:5000/team/app");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag, None);
        let r = parse("registry.example.com:443/app:1.2");
        assert_eq!(r.registry, "registry.example.com:443");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
    }

    #[test]
    fn digests_are_split_off() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = parse(&format!(
            "ghcr.io/acme/app:2.0@{}",
            d.to_uppercase().replace("SHA", "sha")
        ));
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.repository, "acme/app");
        assert_eq!(r.tag.as_deref(), Some("2.0"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
    }

    #[test]
    fn nonsense_is_refused() {
        assert_eq!(ImageRef::parse("  "), Err(ImageRefError::Empty));
        assert!(ImageRef::parse("alpine:3.19 (alpine 3.19.1)").is_err());
        assert!(ImageRef::parse("app@sha256:xyz").is_err());
        assert!(ImageRef::parse("app:").is_err());
    }
}
