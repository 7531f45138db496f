//! CVSS vectors (v2, v3.0, v3.1, v4.0) parsed and scored with the `cvss` crate: Bulwark ranks
//! by the score the vector yields, never by the number a scanner copied next to it.

use std::str::FromStr;

/// A vector and its base score.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// The vector as given (trimmed).
    pub vector: String,
    /// Base score 0.0–10.0.
    pub score: f32,
    /// Major version: 2, 3 or 4.
    pub version: u8,
}

/// Scores one vector; `None` when it is not a valid CVSS vector.
pub fn score(vector: &str) -> Option<Scored> {
    let vector = vector.trim().trim_start_matches('(').trim_end_matches(')');
    let parsed = cvss::Cvss::from_str(vector).ok()?;
    let version = match parsed {
        cvss::Cvss::CvssV20(_) => 2,
        cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) => 3,
        cvss::Cvss::CvssV40(_) => 4,
        _ => return None,
    };
    let score = parsed.score();
    (0.0..=10.0).contains(&score).then(|| Scored {
        vector: vector.to_owned(),
        score: score as f32,
        version,
    })
}

/// The vector used for ranking among `(source, vector)` pairs: the newest CVSS version, and
/// within a version NVD's before vendors'. Invalid vectors are ignored.
pub fn best(vectors: &[(String, String)]) -> Option<Scored> {
    vectors
        .iter()
        .filter_map(|(source, vector)| {
            let scored = score(vector)?;
            let nvd = source.eq_ignore_ascii_case("nvd") || source.contains("nvd.nist.gov");
            Some(((scored.version, nvd), scored))
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, scored)| scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_is_scored_from_the_vector() {
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
                .unwrap()
                .score,
            9.8
        );
        assert_eq!(
            score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
                .unwrap()
                .score,
            10.0
        );
        assert_eq!(score("AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap().score, 7.5);
        let v4 = score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
        assert_eq!((v4.version, v4.score), (4, 9.3));
        assert!(score("CVSS:3.1/AV:Q").is_none());
        assert!(score("").is_none());
    }

    #[test]
    fn newest_version_then_nvd_wins() {
        let vectors = vec![
            (
                "redhat".to_owned(),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:H".to_owned(),
            ),
            (
                "nvd".to_owned(),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H".to_owned(),
            ),
            ("nvd".to_owned(), "AV:N/AC:M/Au:N/C:N/I:N/A:P".to_owned()),
        ];
        assert_eq!(best(&vectors).unwrap().score, 6.5);
        assert!(best(&[("x".into(), "garbage".into())]).is_none());
    }
}
